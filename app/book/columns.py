"""A book partition as Arrow columns: profiles in, classification results out.

Profiles arrive as an Arrow table in `PROFILE_SCHEMA` (from Parquet, CSV or the store) and
become the NumPy columns `classify_to_columns` reads, without a Python object per client: words
are dictionary-decoded so equal texts are one shared object, nullable numbers and flags are
floats with NaN, dates `datetime64[D]`. A classified batch (`Classified`) becomes the result
table, each outcome's parts built once per distinct outcome and gathered by code; the
strategy is arbitrated for the whole partition at once, as the API does it
(`results.arbitrated`), and its action codes gathered into Arrow lists. A book run has no
contact history: the contact policy sees only the channels each client refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from app.classification.batch import Scored, reasons_of
from app.classification.results import Classified, arbitrated
from app.strategy.arbitrate import Arbiter
from app.strategy.policy import History

Column = npt.NDArray[Any]

WORDS = ("kind", "gender", "province", "industry", "ownership", "channel", "property_condition")
INTS = ("birth_year", "occupation_class", "dependents", "city_tier", "employees")
COUNTS = (
    "in_force_policies", "renewals", "lapses", "claim_count_3y", "interactions_12m",
    "complaints_12m", "missed_payments_12m", "app_logins_12m", "referrals",
)  # fmt: skip
MONEY = ("annual_premium", "premium_paid_12m", "claim_amount_3y")
FLOATS = ("annual_income", "annual_revenue", "premium_discount_rate", "property_value")
DATES = ("first_policy_date", "last_purchase_date", "last_interaction_date")
FLAGS = ("renewal_intent", "flood_zone", "typhoon_zone")

PROFILE_SCHEMA = pa.schema(
    [
        pa.field("client_id", pa.string(), nullable=False),
        *(pa.field(name, pa.string()) for name in WORDS),
        *(pa.field(name, pa.int64()) for name in (*INTS, *COUNTS)),
        *(pa.field(name, pa.float64()) for name in (*MONEY, *FLOATS)),
        *(pa.field(name, pa.date32()) for name in DATES),
        pa.field("products_held", pa.list_(pa.string())),
        pa.field("campaign_target", pa.bool_()),
        *(pa.field(name, pa.bool_()) for name in FLAGS),
        # The import's CSV cell: `call:refused|sms:granted` (null: no recorded choice).
        pa.field("contact_consent", pa.string()),
    ]
)
# Not given means the profile's default: none of them, no money, not targeted.
DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(COUNTS, 0),
    **dict.fromkeys(MONEY, 0.0),
    "campaign_target": False,
    "products_held": [],
}

# Columns of the results, in order (see docs/book.md).
CONTEXT = ("kind", "province", "channel", "annual_premium")
REASON_COLUMNS = tuple(
    f"{dimension}_reason_{part}"
    for dimension in ("risk", "lifecycle")
    for part in ("feature", "en", "zh")
)


def _words(array: pa.ChunkedArray) -> Column:
    """Texts as an object array whose equal texts are one object (None for null)."""
    encoded = array.combine_chunks().dictionary_encode()
    indices = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    values = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    out: Column = values[indices]
    return out


def _floats(array: pa.ChunkedArray) -> Column:
    out: Column = np.asarray(
        array.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
    )
    return out


def _dates(array: pa.ChunkedArray) -> Column:
    missing = np.iinfo(np.int32).min
    days = np.asarray(array.cast(pa.int32()).fill_null(missing).to_numpy(), dtype=np.int64)
    out: Column = days.astype("datetime64[D]")
    out[days == missing] = np.datetime64("NaT")
    return out


def _products(array: pa.ChunkedArray) -> Column:
    """A tuple per client, one shared tuple per distinct combination."""
    joined = pc.binary_join(array.fill_null(pa.scalar([], pa.list_(pa.string()))), "|")
    encoded = joined.combine_chunks().dictionary_encode()
    combos = [tuple(text.split("|")) if text else () for text in encoded.dictionary.to_pylist()]
    values = np.empty(len(combos), dtype=object)
    values[:] = combos
    out: Column = values[encoded.indices.to_numpy(zero_copy_only=False)]
    return out


def profile_columns(table: pa.Table) -> dict[str, Column]:
    """The columns `classify_to_columns` reads, from a table in `PROFILE_SCHEMA`."""
    out: dict[str, Column] = {}
    for name in WORDS:
        out[name] = _words(table[name])
    for name in (*INTS, *COUNTS, *MONEY, *FLOATS, *FLAGS):
        out[name] = _floats(table[name])  # flags as 1/0, NaN for unknown
    for name in DATES:
        out[name] = _dates(table[name])
    out["products_held"] = _products(table["products_held"])
    out["campaign_target"] = table["campaign_target"].to_numpy().astype(bool)
    return out


def _taken(values: list[Any], codes: pa.Array, kind: pa.DataType) -> pa.Array:
    return pa.array(values, type=kind).take(codes)


def _masked(values: pa.Array, keep: Column) -> pa.Array:
    return pc.if_else(pa.array(keep), values, pa.nulls(len(values), values.type))


def _number(values: Column) -> pa.Array:
    return pa.array(values, type=pa.float64(), from_pandas=True)  # NaN as null


def result_table(
    table: pa.Table,
    classified: Classified,
    *,
    versions: Mapping[str, Any],
    arbiter: Arbiter,
    reasons: Scored | None = None,
) -> pa.Table:
    """The results of a partition: `table` its profiles (`PROFILE_SCHEMA`). `actions` are
    the arbitrated strategy's codes, best first, as the API lists them; `held_out_actions`
    those of them the control group holds out for the client."""
    codes = pa.array(classified.codes)
    outcomes = classified.outcomes
    corporate = table["kind"].to_numpy(zero_copy_only=False) == "corporate"
    words = pa.string()

    def of(attribute: str) -> pa.Array:
        return _taken([getattr(o, attribute) for o in outcomes], codes, words)

    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "client_id": table["client_id"],
        **{name: table[name] for name in CONTEXT},
        "value_tier": of("value_tier"),
        "abc_grade": _masked(of("abc_grade"), classified.client),
        "clv": _number(classified.clv),
        "clv_percentile": _number(classified.percentile),
        "risk_tier": of("risk_tier"),
        "expected_claim_frequency": _number(classified.claim_frequency),
        "expected_loss_ratio": _number(classified.loss_ratio),
        "lifecycle_stage": of("lifecycle_stage"),
        "lapse_probability_12m": _number(classified.lapse),
        "purchase_probability": _number(classified.purchase),
        "prospect_grade": _masked(of("prospect_grade"), classified.prospect),
        "group_scale": _masked(of("group_scale"), corporate),
        "ownership": _masked(table["ownership"].combine_chunks(), corporate),
        "industry": _masked(table["industry"].combine_chunks(), corporate),
    }
    chosen = arbitrated(
        classified, arbiter, table["client_id"].to_pylist(), consent_histories(table)
    )
    columns["actions"], columns["held_out_actions"] = chosen.action_lists()
    if reasons is not None:
        columns.update(reason_columns(reasons, len(classified)))
    n = len(classified)
    models = ",".join(f"{name}={version}" for name, version in versions["models"].items())
    columns["ruleset_version"] = pa.array([versions["ruleset"]] * n, words).dictionary_encode()
    columns["model_versions"] = pa.array([models] * n, words).dictionary_encode()
    return pa.table(columns)


def consent_text(consent: Mapping[str, str] | None) -> str | None:
    """A stored profile's consent as the book's column holds it (None when empty)."""
    if not consent:
        return None
    return "|".join(f"{channel}:{choice}" for channel, choice in sorted(consent.items()))


def consent_histories(table: pa.Table) -> list[History | None] | None:
    """What the contact policy knows of a book's clients: only the channels they refused
    (a book run has no contact history). None when no client refused any."""
    texts = table["contact_consent"]
    if texts.null_count == len(texts) or not pc.any(pc.match_substring(texts, ":refused")).as_py():
        return None
    histories: list[History | None] = []
    for text in texts.to_pylist():
        refused = frozenset(
            pair.split(":")[0] for pair in (text or "").split("|") if pair.endswith(":refused")
        )
        histories.append(History(refused=refused) if refused else None)
    return histories


def reason_columns(scored: Scored, n: int) -> dict[str, pa.Array]:
    """The top reason of risk and of lifecycle per client, as the API's first reasons."""
    parts: dict[str, list[str | None]] = {name: [None] * n for name in REASON_COLUMNS}
    for i in range(n):
        for dimension, top in reasons_of(scored, i, k=1).items():
            if top:
                parts[f"{dimension}_reason_feature"][i] = top[0]["feature"]
                parts[f"{dimension}_reason_en"][i] = top[0]["text_en"]
                parts[f"{dimension}_reason_zh"][i] = top[0]["text_zh"]
    return {name: pa.array(values, type=pa.string()) for name, values in parts.items()}
