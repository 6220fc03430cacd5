"""The strategy report: per action and segment, offers, acceptance, and the uplift in
12-month retention (or purchase) of the treated over the control group, with the value it
implies.

An offer is an action presented to a client (recorded by the desk or a channel system),
counted once per client, action and period: the treated. The control group are the clients
held out of the action by the classification whose offers were presented, so both sides
were contacted on the same occasion and only the hash split them. The success is the
client's next state as recorded in `client_outcome`: a client retained 12 months on
(`lapse_12m` = 0), or for a prospect a purchase (`purchase_6m` = 1). Clients without it
count as offers but not in the uplift. The implied value is the uplift x the treated
clients' CLV.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.strategy.rates import Counts, Key
from app.strategy.uplift import Uplift, uplift

ALL = "all"


@dataclass(frozen=True, slots=True)
class Offer:
    client_id: str
    action_code: str
    segment: str
    period: str
    held_out: bool
    clv: float
    success: bool | None  # retained, or a prospect's purchase; None: not known yet


@dataclass
class _Tally:
    offers: int = 0
    held_out: int = 0
    treated: int = 0
    treated_kept: int = 0
    control: int = 0
    control_kept: int = 0
    treated_clv: float = 0.0

    def add(self, offer: Offer) -> None:
        self.offers += not offer.held_out
        self.held_out += offer.held_out
        if offer.success is None:
            return
        kept = int(offer.success)
        if offer.held_out:
            self.control += 1
            self.control_kept += kept
        else:
            self.treated += 1
            self.treated_kept += kept
            self.treated_clv += offer.clv


@dataclass(frozen=True, slots=True)
class ReportRow:
    action_code: str
    segment: str
    offers: int
    held_out: int
    answered: int
    accepted: int
    acceptance: float | None
    uplift: Uplift
    implied_value: float | None = field(default=None)


def success(lapse_12m: float | None, purchase_6m: float | None) -> bool | None:
    """A client retained, or a prospect who bought; None while neither is recorded."""
    if lapse_12m is not None:
        return lapse_12m < 0.5
    return purchase_6m >= 0.5 if purchase_6m is not None else None


def build(offers: Iterable[Offer], answers: Mapping[Key, Counts]) -> list[ReportRow]:
    """One row per action and segment, and one per action over all segments."""
    seen: set[tuple[str, str, str]] = set()
    tallies: dict[Key, _Tally] = {}
    for offer in offers:
        once = (offer.client_id, offer.action_code, offer.period)
        if once in seen:
            continue
        seen.add(once)
        for segment in (offer.segment, ALL):
            tallies.setdefault((offer.action_code, segment), _Tally()).add(offer)
    totals: dict[Key, Counts] = dict(answers)
    for (code, _segment), counts in answers.items():
        total = totals.get((code, ALL), Counts(0, 0))
        totals[(code, ALL)] = Counts(
            total.answered + counts.answered, total.accepted + counts.accepted
        )
    rows = []
    for key in sorted(set(tallies) | set(totals), key=lambda k: (k[0], k[1] != ALL, k[1])):
        t = tallies.get(key, _Tally())
        c = totals.get(key, Counts(0, 0))
        lift = uplift(t.treated, t.treated_kept, t.control, t.control_kept)
        rows.append(
            ReportRow(
                action_code=key[0],
                segment=key[1],
                offers=t.offers,
                held_out=t.held_out,
                answered=c.answered,
                accepted=c.accepted,
                acceptance=c.accepted / c.answered if c.answered else None,
                uplift=lift,
                implied_value=round(lift.estimate * t.treated_clv, 2)
                if lift.estimate is not None
                else None,
            )
        )
    return rows


def text(rows: list[ReportRow]) -> str:
    """The report as a plain table, as `clientscore strategy report` prints it."""
    head = (
        f"{'action':<28}{'segment':<20}{'offers':>7}{'control':>8}{'answered':>9}"
        f"{'accept':>8}{'uplift':>9}{'95% interval':>20}{'implied yuan':>15}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        u = r.uplift
        acceptance = f"{r.acceptance:.1%}" if r.acceptance is not None else "-"
        estimate = f"{u.estimate:+.3f}" if u.estimate is not None else "-"
        interval = f"[{u.low:+.3f}, {u.high:+.3f}]" if u.low is not None else "-"
        implied = f"{r.implied_value:,.0f}" if r.implied_value is not None else "-"
        lines.append(
            f"{r.action_code:<28}{r.segment:<20}{r.offers:>7}{r.held_out:>8}{r.answered:>9}"
            f"{acceptance:>8}{estimate:>9}{interval:>20}{implied:>15}"
        )
    return "\n".join(lines)
