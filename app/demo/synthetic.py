"""A deterministic synthetic insurer book: client profiles plus the outcomes models learn.

`generate_book(n, seed, as_of=...)` draws a book of individual and corporate clients (current,
prospects and former) from the data-generating process documented, with every parameter and
formula, in docs/synthetic-data.md; the parameters live in `synthetic_params`. The same seed
gives identical arrays. Everything is vectorised with NumPy: a million clients take seconds.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.arrays import BoolArray, FloatArray, ObjectArray
from app.demo import people as people
from app.demo.clients import CHANNELS, OWNERSHIPS, draw_clients
from app.demo.draws import IntArray, Work, bernoulli
from app.demo.outcomes import draw_behaviour, draw_outcomes
from app.demo.params import PARAMETERS, BookParameters
from app.demo.people import INDUSTRIES, PROVINCES
from app.demo.policies import CONDITIONS, PRODUCTS, draw_policies
from app.profiles.enums import ClientKind, Gender
from app.profiles.schemas import ClientProfile

Column = npt.NDArray[Any]

PROFILE_COLUMNS = tuple(
    name
    for name in ClientProfile.model_fields
    # none recorded in the book (policies and claims neither: the counts stand for them)
    if name not in {"personal", "extra", "contact_consent", "policies", "claims"}
)
PERSONAL_COLUMNS = ("name", "phone", "national_id")
# Integer and boolean fields that may be missing are floats with NaN for missing, the form
# numeric model code expects; `records` turns them back into int, bool or None.
NULLABLE_INT = frozenset({"birth_year", "occupation_class", "dependents", "employees"})
NULLABLE_BOOL = frozenset({"renewal_intent", "flood_zone", "typhoon_zone"})
# Records are converted this many rows at a time: whole columns at once would hold a
# million-row book twice over as Python objects.
_RECORD_CHUNK = 10_000
_KINDS = (ClientKind.individual.value, ClientKind.corporate.value)
_GENDERS = (Gender.male.value, Gender.female.value)


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class SyntheticBook:
    """Columns of a synthetic book, one row per client, all arrays read-only.

    profiles: `client_id`, every `ClientProfile` field but `personal` and `extra`, and the
        personal data `name`, `phone`, `national_id`. Strings, enum values and product tuples
        are object arrays with None for missing; dates are `datetime64[D]` with NaT.
    outcomes: `lapse_12m`, `claim_count_next_year`, `exposure`, `purchase_6m` as floats, NaN
        where the outcome does not apply (see docs/synthetic-data.md).
    parameters: the true parameters the book was drawn from.
    """

    profiles: dict[str, Column]
    outcomes: dict[str, FloatArray]
    parameters: dict[str, Any]

    def __len__(self) -> int:
        return len(self.profiles["client_id"])

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[dict[str, Any]]:
        """Rows `start:stop` as `ClientCreate` bodies (the id is `profiles["client_id"]`).

        Missing values are left out; enum values are strings, dates `datetime.date`, nullable
        integers `int` and nullable flags `bool`; personal data is under `personal`.
        """
        first, last, _ = slice(start, stop).indices(len(self))
        for chunk in range(first, last, _RECORD_CHUNK):
            rows = slice(chunk, min(chunk + _RECORD_CHUNK, last))
            yield from _chunk_records(self.profiles, rows)

    def python_columns(self, start: int, stop: int) -> dict[str, list[Any]]:
        """Rows `start:stop` column by column as the Python values a validated profile holds.

        Every profile field (None when missing, products as lists) and the personal data:
        what a bulk loader writes without building one `ClientCreate` per row.
        """
        return _python_columns(self.profiles, slice(*slice(start, stop).indices(len(self))[:2]))


def generate_book(
    n_clients: int, seed: int, *, as_of: datetime.date, id_prefix: str = "S"
) -> SyntheticBook:
    """Draw `n_clients` clients as they stand on `as_of`; identical output for the same seed.

    Client ids are `id_prefix` followed by the row number (`S0000001`, ...): they depend on
    the prefix and the size only, so two books of one size share their ids unless their
    prefixes differ."""
    if n_clients < 0:
        raise ValueError("n_clients must not be negative")
    rng = np.random.default_rng(seed)
    p = PARAMETERS
    work = draw_clients(rng, n_clients, p)
    draw_policies(rng, p, work)
    draw_behaviour(rng, p, work)
    outcomes = draw_outcomes(rng, p, work)
    profiles = _profiles(rng, p, work, as_of, id_prefix)
    for array in (*profiles.values(), *outcomes.values()):
        array.flags.writeable = False
    return SyntheticBook(profiles=profiles, outcomes=outcomes, parameters=p.as_dict())


def _labels(
    values: tuple[str, ...], codes: IntArray, present: BoolArray | None = None
) -> ObjectArray:
    """Enum values by code, None where absent (the extra last slot of the lookup)."""
    lookup = np.array([*values, None], dtype=object)
    if present is None:
        return np.asarray(lookup[codes])
    return np.asarray(lookup[np.where(present, codes, len(values))])


def _dates(as_of: np.datetime64, days_ago: IntArray) -> Column:
    dates = as_of - days_ago.astype("timedelta64[D]")
    return np.where(days_ago >= 0, dates, np.datetime64("NaT", "D"))


def _where(present: BoolArray, values: Column) -> FloatArray:
    return np.where(present, values, np.nan).astype(np.float64)


def _product_tuples(held: BoolArray) -> ObjectArray:
    """Products held per client as tuples, built once per distinct combination."""
    bits = held.astype(np.int64) @ (1 << np.arange(len(PRODUCTS), dtype=np.int64))
    combos, inverse = np.unique(bits, return_inverse=True)
    lookup = np.empty(len(combos), dtype=object)
    for i, mask in enumerate(combos.tolist()):
        lookup[i] = tuple(name for j, name in enumerate(PRODUCTS) if mask >> j & 1)
    return np.asarray(lookup[inverse.ravel()])


def _person_columns(w: Work) -> dict[str, Column]:
    person = ~w["corporate"]
    return {
        "birth_year": _where(person, w["birth_year"]),
        "gender": _labels(_GENDERS, w["female"].astype(np.int64), person),
        "occupation_class": _where(person, w["occupation"]),
        "annual_income": _where(
            person & ~w["income_missing"], np.round(np.exp(w["log_income"]), -2)
        ),
        "dependents": _where(person, w["dependents"]),
    }


def _firm_columns(w: Work) -> dict[str, Column]:
    firm = w["corporate"]
    return {
        "industry": _labels(INDUSTRIES, w["industry"], firm),
        "employees": _where(firm, w["employees"]),
        "annual_revenue": _where(firm, w["revenue"]),
        "ownership": _labels(OWNERSHIPS, w["ownership"], firm),
    }


def _place_columns(w: Work) -> dict[str, Column]:
    located = ~w["prospect"]  # the insurer geocodes the insured address, not a lead's
    return {
        "province": _labels(PROVINCES, w["province"]),
        "city_tier": w["city_tier"].astype(np.int64),
        "flood_zone": _where(located, w["flood"]),
        "typhoon_zone": _where(located, w["typhoon"]),
        "property_condition": _labels(CONDITIONS, w["condition"], w["condition"] >= 0),
        "property_value": w["property_value"].astype(np.float64),
    }


def _policy_columns(w: Work, as_of: np.datetime64) -> dict[str, Column]:
    return {
        "first_policy_date": _dates(as_of, w["first_ago"]),
        "products_held": _product_tuples(w["held"]),
        "in_force_policies": w["in_force"].astype(np.int64),
        "annual_premium": w["annual_premium"].astype(np.float64),
        "premium_paid_12m": w["paid_12m"].astype(np.float64),
        "premium_discount_rate": w["discount"].astype(np.float64),
        "renewals": w["renewals"].astype(np.int64),
        "lapses": w["lapses"].astype(np.int64),
        "claim_count_3y": w["claims_3y"].astype(np.int64),
        "claim_amount_3y": w["claim_amount_3y"].astype(np.float64),
        "last_purchase_date": _dates(as_of, w["purchase_ago"]),
    }


def _behaviour_columns(w: Work, as_of: np.datetime64) -> dict[str, Column]:
    return {
        "last_interaction_date": _dates(as_of, w["interaction_ago"]),
        "interactions_12m": w["interactions"].astype(np.int64),
        "complaints_12m": w["complaints"].astype(np.int64),
        "missed_payments_12m": w["missed"].astype(np.int64),
        "app_logins_12m": w["logins"].astype(np.int64),
        "referrals": w["referrals"].astype(np.int64),
        "channel": _labels(CHANNELS, w["channel"]),
        "campaign_target": w["campaign"].astype(np.bool_),
        "renewal_intent": w["renewal_intent"].astype(np.float64),
    }


def _personal_columns(rng: np.random.Generator, p: BookParameters, w: Work) -> dict[str, Column]:
    firm = w["corporate"]
    person = ~firm
    n = len(firm)
    names = np.empty(n, dtype=object)
    ids = np.empty(n, dtype=object)
    names[person] = people.person_names(rng, w["female"][person])
    names[firm] = people.company_names(rng, w["province"][firm], w["industry"][firm])
    ids[person] = people.resident_ids(
        rng, w["province"][person], w["birth_year"][person], w["female"][person]
    )
    ids[firm] = people.credit_codes(rng, w["province"][firm])
    # Leads seldom give an identity number; some clients never left a phone number.
    no_id = w["prospect"] & bernoulli(rng, np.full(n, p.mix.national_id_missing_prospect))
    no_phone = bernoulli(rng, np.full(n, p.mix.phone_missing))
    phones = people.mobile_phones(rng, n)
    phones[no_phone] = None
    ids[no_id] = None
    return {"name": names, "phone": phones, "national_id": ids}


def _profiles(
    rng: np.random.Generator, p: BookParameters, w: Work, as_of_date: datetime.date, id_prefix: str
) -> dict[str, Column]:
    n = len(w["status"])
    as_of = np.datetime64(as_of_date, "D")
    # Ages are whole years at `as_of`, so the birth year is the one a model can subtract.
    w["birth_year"] = as_of_date.year - w["age"]
    columns: dict[str, Column] = {
        "client_id": people.numbered(id_prefix, np.arange(1, n + 1), max(7, len(str(n)))),
        "kind": _labels(_KINDS, w["corporate"].astype(np.int64)),
        **_person_columns(w),
        **_firm_columns(w),
        **_place_columns(w),
        **_policy_columns(w, as_of),
        **_behaviour_columns(w, as_of),
        **_personal_columns(rng, p, w),
    }
    missing = set(PROFILE_COLUMNS) - set(columns)
    if missing:  # the schema gained a field the generator does not know yet
        raise RuntimeError(f"synthetic book lacks profile fields {sorted(missing)}")
    return columns


def _python_values(name: str, column: Column) -> list[Any]:
    """A column slice as the Python values a `ClientCreate` body holds (None when missing)."""
    values: list[Any] = column.tolist()
    # `v != v` is true only for NaN, the missing marker of float columns.
    if name in NULLABLE_INT:
        return [None if v != v else int(v) for v in values]
    if name in NULLABLE_BOOL:
        return [None if v != v else bool(v) for v in values]
    if name == "products_held":
        return [list(v) for v in values]
    if column.dtype.kind == "f":
        return [None if v != v else v for v in values]
    return values  # datetime64[D] already became datetime.date or None


def _python_columns(profiles: dict[str, Column], rows: slice) -> dict[str, list[Any]]:
    columns = {name: _python_values(name, profiles[name][rows]) for name in PROFILE_COLUMNS}
    for name in PERSONAL_COLUMNS:
        columns[name] = profiles[name][rows].tolist()
    return columns


def _chunk_records(profiles: dict[str, Column], rows: slice) -> Iterator[dict[str, Any]]:
    columns = _python_columns(profiles, rows)
    fields = {name: columns[name] for name in PROFILE_COLUMNS}
    personal = {name: columns[name] for name in PERSONAL_COLUMNS}
    for i in range(rows.stop - rows.start):
        record = {name: values[i] for name, values in fields.items() if values[i] is not None}
        person = {name: values[i] for name, values in personal.items() if values[i] is not None}
        if person:
            record["personal"] = person
        yield record
