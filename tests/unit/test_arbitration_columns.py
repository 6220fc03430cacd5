"""A batch arbitrated at once (`app.strategy.columns`) equals each client arbitrated alone
(`Arbiter.arbitrate`), bit for bit, on random books; the control group's hash and the
value formulas agree between one client and a batch."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules.outcome import Action, RuleOutcome
from app.rules.parameters import ActionSpec
from app.rules.ruleset import Ruleset
from app.strategy import arbitrate as scalar_module
from app.strategy.arbitrate import Arbiter, Catalogue
from app.strategy.columns import arbitrate_columns
from app.strategy.control import client_keys, held_out, held_out_columns, key_of, salt
from app.strategy.policy import History
from app.strategy.rates import Counts, Rates
from app.strategy.values import Value, known_columns, known_numbers

TODAY = date(2026, 12, 1)
FIELDS = (
    "clv",
    "lapse_probability",
    "purchase_probability",
    "expected_claim_frequency",
    "expected_loss_ratio",
    "annual_premium",
)
# Few distinct numbers, so values and priorities tie often; NaN is a number not known.
NUMBER = st.sampled_from([math.nan, 0.0, -0.0, 0.5, 0.25, 1.0, 100.0, 333.33, 20000.0, -7.5])
IDS = st.one_of(
    st.none(),
    st.text(min_size=0, max_size=30),
    st.integers(0, 10**12).map(lambda i: f"C-{i}"),
)


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return Ruleset.load()


def _catalogue(ruleset: Ruleset, share: float, weights: list[float]) -> Catalogue:
    document = ruleset.document
    actions = [
        a.model_copy(update={"weight": w})
        for a, w in zip(document.actions, weights + [1.0] * len(document.actions), strict=False)
    ]
    strategy = document.strategy.model_copy(update={"control_share": share})
    return Catalogue.of(document.model_copy(update={"actions": actions, "strategy": strategy}))


def _fake_suppressed(spec: ActionSpec, history: History, *_: Any, **__: Any) -> str | None:
    """A contact policy for the test: suppresses by the history object's identity and code."""
    return f"quiet {spec.code}" if (id(history) // 16 + len(spec.code)) % 3 == 0 else None


@st.composite
def books(draw: st.DrawFn, codes: tuple[str, ...]) -> dict[str, Any]:
    n = draw(st.integers(0, 40))
    outcomes = []
    for _ in range(draw(st.integers(1, 5))):
        chosen = draw(st.lists(st.sampled_from(codes), unique=True, max_size=len(codes)))
        stage = draw(st.sampled_from(["active", "at_risk", "potential"]))
        actions = tuple(Action(c, c, c, "why", "why") for c in chosen)
        outcomes.append(RuleOutcome("high", "A", "low", stage, None, None, actions, ()))  # type: ignore[arg-type]
    return {
        "n": n,
        "outcomes": outcomes,
        "codes": draw(st.lists(st.integers(0, len(outcomes) - 1), min_size=n, max_size=n)),
        "numbers": {f: draw(st.lists(NUMBER, min_size=n, max_size=n)) for f in FIELDS},
        "ids": draw(st.lists(IDS, min_size=n, max_size=n)),
        "histories": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        "top_n": draw(st.integers(1, 6)),
        "share": draw(st.sampled_from([0.0, 0.05, 0.5])),
        "weights": draw(st.lists(st.sampled_from([1.0, 2.0, 0.5]), max_size=len(codes))),
        "answers": draw(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=3)),
    }


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_batch_arbitrated_at_once_equals_each_client_alone(
    ruleset: Ruleset, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = tuple(a.code for a in ruleset.document.actions)
    book = data.draw(books(codes))
    monkeypatch.setattr(scalar_module, "suppressed", _fake_suppressed)
    catalogue = _catalogue(ruleset, book["share"], book["weights"])
    counts = {
        (code, "high/at_risk"): Counts(max(a, b), min(a, b))
        for code, (a, b) in zip(codes, book["answers"], strict=False)
    }
    arbiter = Arbiter(
        catalogue, Rates(counts), TODAY, book["top_n"], "2026-11-08", date(2026, 11, 8)
    )
    histories = [History() if h else None for h in book["histories"]]
    n = book["n"]
    numbers = {f: np.array(v, dtype=np.float64) for f, v in book["numbers"].items()}
    batch = arbitrate_columns(
        arbiter,
        book["outcomes"],
        np.array(book["codes"], dtype=np.intp),
        numbers,
        book["ids"],
        histories,
    )
    entries = batch.entries()
    actions, held = batch.action_lists()
    for i in range(n):
        own = {f: book["numbers"][f][i] for f in FIELDS}
        alone = arbiter.arbitrate(
            book["outcomes"][book["codes"][i]],
            own,
            client_id=book["ids"][i],
            history=histories[i],
        )
        assert repr(entries[i]) == repr(alone)
        assert actions[i].as_py() == [a["code"] for a in alone[0]]
        assert held[i].as_py() == [a["code"] for a in alone[0] if a["held_out"]]
        if histories[i] is None:
            assert alone[1]["suppressed"] == []
        if book["ids"][i] is None:
            assert not any(a["held_out"] for a in alone[0])


def test_ties_keep_the_outcome_s_order_on_both_paths(ruleset: Ruleset) -> None:
    document = ruleset.document
    twin = document.actions[0].model_copy(update={"code": "twin"})
    catalogue = Catalogue.of(document.model_copy(update={"actions": [*document.actions, twin]}))
    arbiter = Arbiter(catalogue, Rates(), TODAY, 3, "2026-11-08", date(2026, 11, 8))
    first = document.actions[0].code
    for order in ((first, "twin"), ("twin", first)):
        actions = tuple(Action(c, c, c, "", "") for c in order)
        outcome = RuleOutcome("high", "A", "low", "at_risk", None, None, actions, ())
        numbers = {f: np.array([1000.0]) for f in FIELDS}
        (entry,) = arbitrate_columns(
            arbiter, [outcome], np.zeros(1, np.intp), numbers, [None]
        ).entries()
        alone = arbiter.arbitrate(
            outcome, dict.fromkeys(FIELDS, 1000.0), client_id=None, history=None
        )
        assert [a["code"] for a in entry[0]] == list(order) == [a["code"] for a in alone[0]]
        assert entry[0][0]["priority"] == entry[0][1]["priority"]


def test_an_empty_batch_has_no_strategies(ruleset: Ruleset) -> None:
    arbiter = Arbiter.of(ruleset, TODAY)
    nothing = {f: np.zeros(0) for f in FIELDS}
    empty = arbitrate_columns(arbiter, [], np.zeros(0, np.intp), nothing, [])
    assert empty.entries() == []
    assert [len(column) for column in empty.action_lists()] == [0, 0]


def test_the_control_hash_is_fixed_arithmetic_on_the_bytes() -> None:
    # Fixed numbers: any change of the hash (or a Python `hash()` creeping in) shows here.
    assert key_of("C-000001") == 11101721515180563665
    assert key_of("") == 4408635770755576048
    assert key_of("客户-1") == 14718296222761478273
    drawn = [held_out(f"C-{i:06d}", "retention_offer", "2026-11-08", 0.05) for i in range(100)]
    assert [i for i, out in enumerate(drawn) if out] == [8, 12, 17, 40, 61, 75, 85, 93, 98]
    assert salt("retention_offer", "2026-11-08") == key_of("retention_offer|2026-11-08")
    assert not held_out(None, "retention_offer", "2026-11-08", 0.5)
    assert not held_out("C-000008", "retention_offer", "2026-11-08", 0.0)


@given(st.lists(st.text(max_size=40), max_size=30), st.floats(0.0, 0.5))
def test_the_batch_hash_equals_one_client_s(ids: list[str], share: float) -> None:
    keys = client_keys(ids)
    assert keys.tolist() == [key_of(c) for c in ids]
    salts = np.array([salt("cross_sell", "2026-11-08")], dtype=np.uint64)
    together = held_out_columns(keys, salts, share).tolist()
    assert together == [held_out(c, "cross_sell", "2026-11-08", share) for c in ids]


FORMULA_PARTS = st.recursive(
    st.sampled_from([*FIELDS, "cost", "rate", "0", "2", "0.1"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
        inner.map(lambda t: f"-{t}"),
    ),
    max_leaves=8,
)


@given(FORMULA_PARTS, st.lists(st.tuples(*[NUMBER] * len(FIELDS)), min_size=1, max_size=20))
def test_a_value_formula_gives_one_client_what_it_gives_a_batch(
    text: str, rows: list[tuple[float, ...]]
) -> None:
    spec = ActionSpec.model_validate(
        {
            "code": "x",
            "zh": "x",
            "en": "x",
            "script": {"zh": "x", "en": "x"},
            "channel": "call",
            "cost": 10.0,
            "acceptance": 0.5,
            "evidence": 1,
            "value": text,
            "params": {"rate": 0.3},
        }
    )
    value = Value.of(spec)
    columns = {f: np.array([r[k] for r in rows]) for k, f in enumerate(FIELDS)}
    batch = value.batch(known_columns(columns), len(rows)).tolist()
    alone = [value.client(known_numbers(dict(zip(FIELDS, r, strict=True)))) for r in rows]
    assert repr(batch) == repr(alone)
    assert all(math.isfinite(v) for v in alone)
