"""JSON-ready results of a classified batch, in the shape of `schemas.Classification`.

The rows that fired are the same for every client with the same rule outcome, so they are
built once per distinct outcome and shared; the strategy is arbitrated for the whole batch at
once (each client's numbers, segment, contact history and control group decide it,
`app.strategy.columns`), as `app.strategy.arbitrate` does it for one client.
Numbers are read from Python lists (`tolist`) and rounded with Python's `round`,
as the caller is shown them and as the rules saw them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.arrays import rounded
from app.rules.outcome import RuleOutcome
from app.serving.predictor import Predictions
from app.strategy.arbitrate import Arbiter
from app.strategy.columns import Arbitrated, arbitrate_columns, paused_gc
from app.strategy.policy import History
from app.strategy.values import known_number

Reasons = Callable[[int], dict[str, list[dict[str, Any]]]]


def shown(value: float, digits: int = 6) -> float | None:
    """A number as the caller sees it: rounded, None for not known (NaN)."""
    return None if value != value else round(value, digits)


@dataclass(frozen=True, slots=True)
class _Shared:
    fired_client: list[dict[str, Any]]
    fired_other: list[dict[str, Any]]  # ABC grades rank the book's clients only


# The parts of recent outcomes, kept with the outcome itself so its id is never reused while
# the entry lives. The compiled tables hand out one object per distinct outcome, so a worker
# builds each outcome's parts about once.
_RECENT: dict[int, tuple[RuleOutcome, _Shared]] = {}
_RECENT_LIMIT = 4096


def _shared(outcome: RuleOutcome) -> _Shared:
    held = _RECENT.get(id(outcome))
    if held is not None:
        return held[1]
    if len(_RECENT) >= _RECENT_LIMIT:
        _RECENT.clear()
    built = _build(outcome)
    _RECENT[id(outcome)] = (outcome, built)
    return built


def _build(outcome: RuleOutcome) -> _Shared:
    fired = [
        {"table": r.table, "rule_id": r.rule_id, "row": r.row, "description": r.description}
        for r in outcome.rules_fired
    ]
    other = [f for f in fired if f["table"] != "abc_grade"]
    return _Shared(fired, other)


Shown = float | None  # a number as the caller sees it: rounded, null for not known


@dataclass(frozen=True, slots=True)
class BatchNumbers:
    """The batch's numbers as the caller is shown them: Python lists, rounded, NaN as None."""

    client: list[bool]
    prospect: list[bool]
    clv: list[Shown]  # yuan, 2 digits
    percentile: list[Shown]  # 2 digits
    claim_frequency: list[Shown]  # the rest 6 digits
    loss_ratio: list[Shown]
    lapse: list[Shown]
    purchase: list[Shown]
    premium: list[float]


BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Classified:
    """A classified batch column by column: what the dicts of `results` and the Arrow
    columns of a book run are both read from.

    Numbers are rounded as the caller is shown them (`rounded` is Python's `round`, exactly:
    CLV and percentile 2 digits, the rest 6), NaN where not known or not applicable (the
    percentile and lapse to clients, purchase to prospects); each client's rule outcome is a
    code into `outcomes`, the batch's distinct ones.
    """

    client: BoolArray
    prospect: BoolArray
    clv: FloatArray
    percentile: FloatArray
    claim_frequency: FloatArray
    loss_ratio: FloatArray
    lapse: FloatArray
    purchase: FloatArray
    premium: FloatArray  # yuan, as given (a value formula reads it)
    codes: IntArray
    outcomes: list[RuleOutcome]

    @classmethod
    def of(
        cls,
        p: Predictions,
        *,
        clv: Any,
        loss_ratio: Any,
        percentile: Any,
        premium: Any,
        coded: tuple[IntArray, list[RuleOutcome]],
    ) -> Classified:
        return cls(
            client=p.client,
            prospect=p.prospect,
            clv=rounded(clv, 2),
            percentile=np.where(p.client, rounded(percentile, 2), np.nan),
            claim_frequency=rounded(p.claim_frequency),
            loss_ratio=rounded(loss_ratio),
            lapse=np.where(p.client, rounded(p.lapse_probability), np.nan),
            purchase=np.where(p.prospect, rounded(p.purchase_probability), np.nan),
            premium=np.asarray(premium, dtype=np.float64),
            codes=coded[0],
            outcomes=coded[1],
        )

    def __len__(self) -> int:
        return int(self.codes.size)

    def numbers(self) -> BatchNumbers:
        """The numbers as Python lists, None for NaN."""
        return BatchNumbers(
            client=self.client.tolist(),
            prospect=self.prospect.tolist(),
            clv=_listed(self.clv),
            percentile=_listed(self.percentile),
            claim_frequency=_listed(self.claim_frequency),
            loss_ratio=_listed(self.loss_ratio),
            lapse=_listed(self.lapse),
            purchase=_listed(self.purchase),
            premium=self.premium.tolist(),
        )


def _listed(values: FloatArray) -> list[Shown]:
    return [None if v != v else v for v in values.tolist()]


@dataclass(slots=True)  # not frozen: a frozen dataclass pays a setattr call per field
class ClientNumbers:
    """One client's numbers as the caller is shown them (not changed once made)."""

    client: bool
    prospect: bool
    clv: Shown
    percentile: Shown
    claim_frequency: Shown
    loss_ratio: Shown
    lapse: Shown
    purchase: Shown
    premium: float

    def for_formulas(self) -> dict[str, Any]:
        """The numbers a value formula reads, as the caller is shown them."""
        return {
            "clv": self.clv,
            "lapse_probability": self.lapse if self.client else None,
            "purchase_probability": self.purchase if self.prospect else None,
            "expected_claim_frequency": self.claim_frequency,
            "expected_loss_ratio": self.loss_ratio,
            "annual_premium": self.premium,
        }

    def known(self) -> dict[str, float]:
        """`known_numbers(self.for_formulas())`: the numbers as a value formula reads them,
        not known (None, NaN) as 0, built without the mapping in between."""
        return {
            "clv": known_number(self.clv),
            "lapse_probability": known_number(self.lapse) if self.client else 0.0,
            "purchase_probability": known_number(self.purchase) if self.prospect else 0.0,
            "expected_claim_frequency": known_number(self.claim_frequency),
            "expected_loss_ratio": known_number(self.loss_ratio),
            "annual_premium": known_number(self.premium),
        }


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a result is for, as the arbitration needs it: the stored client's id and its
    contact history (none for an inline profile or a book run)."""

    client_id: str | None = None
    history: History | None = None


INLINE = Subject()


def result(
    outcome: RuleOutcome,
    numbers: ClientNumbers,
    *,
    kind: str,
    ownership: str | None,
    industry: str | None,
    reasons: dict[str, list[dict[str, Any]]] | None,
    versions: dict[str, Any],
    arbiter: Arbiter,
    subject: Subject = INLINE,
) -> dict[str, Any]:
    """One client's result, from its rule outcome and its numbers."""
    strategy, arbitration = arbiter.arbitrate_known(
        outcome,
        numbers.known(),
        client_id=subject.client_id,
        history=subject.history,
    )
    return _result(
        outcome,
        numbers,
        kind=kind,
        ownership=ownership,
        industry=industry,
        reasons=reasons,
        versions=versions,
        arbitrated=(strategy, arbitration),
    )


def _result(  # `_results` builds the same, inlined for a batch
    outcome: RuleOutcome,
    numbers: ClientNumbers,
    *,
    kind: str,
    ownership: str | None,
    industry: str | None,
    reasons: dict[str, list[dict[str, Any]]] | None,
    versions: dict[str, Any],
    arbitrated: tuple[list[dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    common = _shared(outcome)
    client, prospect = numbers.client, numbers.prospect
    return {
        "value": {
            "tier": outcome.value_tier,
            "grade": outcome.abc_grade if client else None,
            "clv": numbers.clv,
            "percentile": numbers.percentile if client else None,
        },
        "risk": {
            "tier": outcome.risk_tier,
            "expected_claim_frequency": numbers.claim_frequency,
            "expected_loss_ratio": numbers.loss_ratio,
        },
        "lifecycle": {
            "stage": outcome.lifecycle_stage,
            "lapse_probability_12m": numbers.lapse if client else None,
            "purchase_probability": numbers.purchase if prospect else None,
            "prospect_grade": outcome.prospect_grade if prospect else None,
        },
        "segment": {
            "scale": outcome.group_scale,
            "ownership": ownership,
            "industry": industry,
        }
        if kind == "corporate"
        else None,
        "strategy": arbitrated[0],
        "arbitration": arbitrated[1],
        "reasons": reasons,
        "rules_fired": common.fired_client if client else common.fired_other,
        "versions": versions,
    }


def arbitrated(
    classified: Classified,
    arbiter: Arbiter,
    client_ids: Sequence[str | None],
    histories: Sequence[History | None] | None = None,
) -> Arbitrated:
    """The batch's arbitration (`app.strategy.columns`): per client what `result` arbitrates,
    from the numbers as the caller is shown them; `histories` None: no contact policy."""
    numbers = {
        "clv": classified.clv,
        "lapse_probability": classified.lapse,
        "purchase_probability": classified.purchase,
        "expected_claim_frequency": classified.claim_frequency,
        "expected_loss_ratio": classified.loss_ratio,
        "annual_premium": classified.premium,
    }
    return arbitrate_columns(
        arbiter, classified.outcomes, classified.codes, numbers, client_ids, histories
    )


def results(
    columns: Mapping[str, Sequence[Any]],
    classified: Classified,
    *,
    reasons: Reasons | None,
    versions: dict[str, Any],
    arbiter: Arbiter,
    subjects: Sequence[Subject] | None = None,
) -> list[dict[str, Any]]:
    """One result per client; `columns` are the profile columns (kind, ownership, industry)."""
    with paused_gc():
        return _results(columns, classified, reasons, versions, arbiter, subjects)


def _results(
    columns: Mapping[str, Sequence[Any]],
    classified: Classified,
    reasons: Reasons | None,
    versions: dict[str, Any],
    arbiter: Arbiter,
    subjects: Sequence[Subject] | None,
) -> list[dict[str, Any]]:
    kinds, ownership, industry = columns["kind"], columns["ownership"], columns["industry"]
    if subjects is None:
        chosen = arbitrated(classified, arbiter, [None] * len(classified)).entries()
    else:
        chosen = arbitrated(
            classified,
            arbiter,
            [s.client_id for s in subjects],
            [s.history for s in subjects],
        ).entries()
    # `_result` for each client, inlined: the numbers read from Python lists, each distinct
    # outcome's rows that fired built once.
    n = classified.numbers()
    fired = [_shared(outcome) for outcome in classified.outcomes]
    outcomes = classified.outcomes
    out: list[dict[str, Any]] = []
    for i, code in enumerate(classified.codes.tolist()):
        outcome, common, client, prospect = outcomes[code], fired[code], n.client[i], n.prospect[i]
        strategy, arbitration = chosen[i]
        out.append(
            {
                "value": {
                    "tier": outcome.value_tier,
                    "grade": outcome.abc_grade if client else None,
                    "clv": n.clv[i],
                    "percentile": n.percentile[i] if client else None,
                },
                "risk": {
                    "tier": outcome.risk_tier,
                    "expected_claim_frequency": n.claim_frequency[i],
                    "expected_loss_ratio": n.loss_ratio[i],
                },
                "lifecycle": {
                    "stage": outcome.lifecycle_stage,
                    "lapse_probability_12m": n.lapse[i] if client else None,
                    "purchase_probability": n.purchase[i] if prospect else None,
                    "prospect_grade": outcome.prospect_grade if prospect else None,
                },
                "segment": {
                    "scale": outcome.group_scale,
                    "ownership": ownership[i],
                    "industry": industry[i],
                }
                if kinds[i] == "corporate"
                else None,
                "strategy": strategy,
                "arbitration": arbitration,
                "reasons": reasons(i) if reasons is not None else None,
                "rules_fired": common.fired_client if client else common.fired_other,
                "versions": versions,
            }
        )
    return out
