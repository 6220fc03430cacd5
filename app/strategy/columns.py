"""A batch arbitrated at once: what `Arbiter.arbitrate` gives each client, column by column.

The batch's clients each have a rule outcome (a code into the batch's distinct outcomes),
whose eligible actions are its slots. Each action's value is its formula over the batch's
columns (`app.strategy.values`), gathered into a (client, slot) matrix beside the
acceptance and weight of the slot's action in the outcome's segment; expected value and
priority are rounded as `round` does. The contact policy is asked only about clients with a
history, for their eligible actions. Each client's slots are ordered by a stable sort on
the priority, best first, so ties keep the outcome's order as the one-client path does, and
the control group is drawn for the top N of the whole batch at once (`control`).
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from app.arrays import BoolArray, FloatArray, IntArray, rounded
from app.rules.outcome import Action, RuleOutcome
from app.strategy.arbitrate import Accepted, Arbiter
from app.strategy.control import client_keys, held_out_columns, salt
from app.strategy.policy import History
from app.strategy.values import known_columns


@dataclass(frozen=True, slots=True)
class _Slots:
    """The eligible actions of the batch's distinct outcomes, one row per outcome."""

    action: IntArray  # the action's place in the catalogue, -1 past the outcome's actions
    p: FloatArray
    weight: FloatArray
    segments: list[str]
    accepted: list[list[Accepted]]  # per outcome, each catalogue action's in its segment


def _slots(arbiter: Arbiter, outcomes: Sequence[RuleOutcome]) -> _Slots:
    catalogue = arbiter.catalogue
    place = {code: k for k, code in enumerate(catalogue.codes)}
    rows = [[place[a.code] for a in o.actions] for o in outcomes]
    lengths = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
    width = int(lengths.max(initial=0))
    action = np.full((len(outcomes), width), -1, dtype=np.intp)
    action[np.arange(width) < lengths[:, None]] = np.fromiter(
        itertools.chain.from_iterable(rows), dtype=np.intp, count=int(lengths.sum())
    )
    segments = [catalogue.segment(o) for o in outcomes]
    distinct = {segment: n for n, segment in enumerate(dict.fromkeys(segments))}
    by_segment = [[arbiter.acceptance(code, s) for code in catalogue.codes] for s in distinct]
    rates = np.array([[a.p for a in row] for row in by_segment]).reshape(
        len(distinct), len(catalogue.codes)
    )
    weights = np.array([catalogue.specs[code].weight for code in catalogue.codes])
    which = np.fromiter(map(distinct.__getitem__, segments), dtype=np.intp, count=len(segments))
    known = np.maximum(action, 0)
    p = np.where(action >= 0, rates[which[:, None], known], 0.0)
    weight = np.where(action >= 0, weights[known], 0.0)
    return _Slots(action, p, weight, segments, [by_segment[n] for n in which.tolist()])


@dataclass(frozen=True, slots=True)
class Arbitrated:
    """A batch's arbitration. Per client, its ranked slots best first (`slot`, -1 past the
    `count` the contact policy left) with their action, priority, expected value, value,
    and whether the control group holds the client out of each of the top N."""

    arbiter: Arbiter
    outcomes: Sequence[RuleOutcome]
    codes: IntArray  # each client's outcome
    slots: _Slots
    order: IntArray  # each client's slots, ranked
    slot: IntArray
    action: IntArray
    count: IntArray
    priority: FloatArray  # by slot, as `order` ranks them
    expected: FloatArray
    value: FloatArray
    held: BoolArray  # the first min(top N, width) ranked slots
    quiet: dict[int, list[dict[str, Any]]]

    def __len__(self) -> int:
        return int(self.codes.size)

    def _top(self) -> BoolArray:
        shown = np.minimum(self.count, self.arbiter.top_n)
        out: BoolArray = np.arange(self.held.shape[1]) < shown[:, None]
        return out

    def action_lists(self) -> tuple[pa.Array, pa.Array]:
        """Each client's strategy as lists of action codes, best first, and the codes of those
        the control group holds it out of (Arrow lists of strings)."""
        names = pa.array(self.arbiter.catalogue.codes, pa.string())
        top = self._top()
        chosen = self.action[:, : top.shape[1]]
        lists = []
        for keep in (top, top & self.held):
            offsets = np.zeros(len(self) + 1, dtype=np.int32)
            np.cumsum(keep.sum(axis=1), out=offsets[1:])
            values = names.take(pa.array(chosen[keep]))
            lists.append(pa.ListArray.from_arrays(pa.array(offsets), values))
        return lists[0], lists[1]

    def entries(self) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """What `Arbiter.arbitrate` gives each client: its strategy and arbitration."""
        with paused_gc():
            return self._entries()

    def _entries(self) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
        arbiter, top_n, period = self.arbiter, self.arbiter.top_n, self.arbiter.period
        channels = arbiter.catalogue.channels
        # Per outcome and slot: the action's own parts, its acceptance and the why around
        # the value, in one tuple.
        place = {code: k for k, code in enumerate(arbiter.catalogue.codes)}
        parts = [
            [(*_own(a), channels[a.code], rates[place[a.code]]) for a in outcome.actions]
            for outcome, rates in zip(self.outcomes, self.slots.accepted, strict=True)
        ]
        segments, quiet = self.slots.segments, self.quiet
        slot, count = self.slot.tolist(), self.count.tolist()
        priority, expected, value = (
            np.take_along_axis(m, self.order, axis=1).tolist()
            for m in (self.priority, self.expected, self.value)
        )
        held = self.held.tolist()
        out: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
        for i, j in enumerate(self.codes.tolist()):
            own, ranked, n = parts[j], slot[i], count[i]
            row_priority, row_expected, row_value, row_held = (
                priority[i], expected[i], value[i], held[i]
            )  # fmt: skip
            strategy = []
            for k in range(n if n < top_n else top_n):
                code, zh, en, why_zh, why_en, channel, accepted = own[ranked[k]]
                v = row_value[k]
                strategy.append(
                    {
                        "code": code,
                        "title_zh": zh,
                        "title_en": en,
                        "reason_zh": why_zh,
                        "reason_en": why_en,
                        "channel": channel,
                        "priority": row_priority[k],
                        "expected_value": row_expected[k],
                        "acceptance": accepted.p,
                        "value": v,
                        "held_out": row_held[k],
                        "why": f"{accepted.before}{v:,.2f}{accepted.after}",
                    }
                )
            others = [
                {
                    "code": own[ranked[k]][0],
                    "channel": own[ranked[k]][5],
                    "priority": row_priority[k],
                    "expected_value": row_expected[k],
                }
                for k in range(top_n, n)
            ]
            arbitration = {
                "segment": segments[j],
                "period": period,
                "others": others,
                "suppressed": quiet.get(i, []),
            }
            out.append((strategy, arbitration))
        return out


def _own(a: Action) -> tuple[str, str, str, str, str]:
    return a.code, a.title_zh, a.title_en, a.reason_zh, a.reason_en


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while a batch's results are built: they are
    many small dicts and lists without cycles, and a collection triggered every few hundred
    of them walks every object the process holds, again and again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def arbitrate_columns(
    arbiter: Arbiter,
    outcomes: Sequence[RuleOutcome],
    codes: IntArray,
    numbers: Mapping[str, Any],
    client_ids: Sequence[str | None],
    histories: Sequence[History | None] | None = None,
) -> Arbitrated:
    """The batch's arbitration: client i has outcome `outcomes[codes[i]]`, the numbers
    `numbers[name][i]` (the formulas' fields, NaN for not known), the id `client_ids[i]`
    (None: inline, never held out) and the contact history `histories[i]` (None: no contact
    policy applies)."""
    catalogue = arbiter.catalogue
    n = int(codes.size)
    slots = _slots(arbiter, outcomes)
    width = slots.action.shape[1]
    action = slots.action[codes]
    valid = action >= 0
    quiet = _suppress(arbiter, outcomes, codes, histories, valid)
    # Values, expected values and priorities where an action is ranked (elsewhere 0).
    rows, columns = np.nonzero(valid)
    flat = _values(arbiter, action[rows, columns], rows, known_columns(numbers))
    flat_expected = rounded(slots.p[codes[rows], columns] * flat, 2)
    flat_priority = rounded(flat_expected * slots.weight[codes[rows], columns], 2)
    value, expected, priority = np.zeros((n, width)), np.zeros((n, width)), np.zeros((n, width))
    value[rows, columns] = flat
    expected[rows, columns] = flat_expected
    priority[rows, columns] = flat_priority
    # Stable: the valid slots first, then by priority descending, ties in the outcome's order.
    order = np.lexsort((-priority, ~valid), axis=-1) if width else np.zeros((n, 0), np.intp)
    count = valid.sum(axis=1)
    ranked_action = np.take_along_axis(action, order, axis=1)
    slot = np.where(np.arange(width) < count[:, None], order, -1)
    top = min(arbiter.top_n, width)
    salts = np.array([salt(code, arbiter.period) for code in catalogue.codes], dtype=np.uint64)
    has_id = np.fromiter((c is not None for c in client_ids), dtype=bool, count=n)
    held = (
        held_out_columns(
            client_keys(client_ids)[:, None],
            salts[np.maximum(ranked_action[:, :top], 0)],
            arbiter.share,
        )
        & has_id[:, None]
        & (np.arange(top) < count[:, None])
    )
    return Arbitrated(
        arbiter,
        outcomes,
        codes,
        slots,
        order,
        slot,
        ranked_action,
        count,
        priority,
        expected,
        value,
        held,
        quiet,
    )


def _values(
    arbiter: Arbiter, actions: IntArray, rows: IntArray, known: Mapping[str, FloatArray]
) -> FloatArray:
    """The value of each (client `rows[i]`, action `actions[i]`), rounded as shown: each
    action's formula over the columns of the clients it is ranked for."""
    catalogue = arbiter.catalogue
    out = np.zeros(actions.size)
    small = np.int16 if len(catalogue.codes) < 2**15 else np.intp  # a radix sort if int16
    by_action = np.argsort(actions.astype(small), kind="stable")
    bounds = np.searchsorted(actions[by_action], np.arange(len(catalogue.codes) + 1))
    for k in np.flatnonzero(np.diff(bounds)).tolist():
        at = by_action[bounds[k] : bounds[k + 1]]
        formula = catalogue.values[catalogue.codes[k]]
        who = rows[at]
        out[at] = formula.batch({name: known[name][who] for name in formula.fields}, at.size)
    return out


def _suppress(
    arbiter: Arbiter,
    outcomes: Sequence[RuleOutcome],
    codes: IntArray,
    histories: Sequence[History | None] | None,
    valid: BoolArray,
) -> dict[int, list[dict[str, Any]]]:
    """Ask the contact policy about the eligible actions of clients with a history; clear
    the slots it suppresses in `valid`, and give each such client's suppressed entries."""
    quiet: dict[int, list[dict[str, Any]]] = {}
    if histories is None:
        return quiet
    specs = arbiter.catalogue.specs
    for i, history in enumerate(histories):
        if history is None:
            continue
        found = []
        for s, a in enumerate(outcomes[int(codes[i])].actions):
            spec = specs[a.code]
            why = arbiter.why_not(spec, history)
            if why is not None:
                valid[i, s] = False
                found.append({"code": a.code, "channel": spec.channel, "why": why})
        if found:
            quiet[i] = found
    return quiet
