"""Score drift windows, bulk histogram updates and JSON log lines, without a server."""

from __future__ import annotations

import logging
import sys

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from app.observability.logging import FIELDS, JsonFormatter
from app.observability.metrics import SCORE_BUCKETS, observe_many
from app.serving.drift import ScoreWindow, psi
from app.serving.metadata import ScoreHistogram

REFERENCE = ScoreHistogram(edges=[0.0, 0.1, 0.2, 0.4, 0.7, 1.0], counts=[20, 20, 20, 20, 20])


def expected_bins(scores: np.ndarray) -> np.ndarray:
    """Bin counts by the definition: outer bins open-ended, a score on an edge goes right."""
    bins = np.zeros(5, dtype=np.int64)
    for score in scores:
        bins[sum(score >= edge for edge in REFERENCE.edges[1:-1])] += 1
    return bins


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(
        st.lists(st.floats(-0.5, 1.5, allow_nan=False), max_size=25), min_size=1, max_size=12
    ),
    size=st.integers(1, 40),
)
def test_window_counts_the_last_scores_only(chunks: list[list[float]], size: int) -> None:
    window = ScoreWindow(REFERENCE, size)
    seen: list[float] = []
    for chunk in chunks:
        window.add(np.array(chunk, dtype=np.float64))
        seen += chunk
    last = np.array(seen[-size:] if seen else [], dtype=np.float64)
    assert window.scores == last.size
    assert window.counts.tolist() == expected_bins(last).tolist()


def test_window_ignores_missing_scores() -> None:
    window = ScoreWindow(REFERENCE, 10)
    window.add(np.array([np.nan, 0.05, np.nan]))
    assert window.scores == 1


def test_psi_is_zero_for_the_reference_and_large_for_a_shift() -> None:
    window = ScoreWindow(REFERENCE, 1000)
    window.add(np.repeat([0.05, 0.15, 0.3, 0.5, 0.9], 200))
    assert window.psi() == pytest.approx(0.0)
    shifted = ScoreWindow(REFERENCE, 1000)
    shifted.add(np.repeat([0.3, 0.5, 0.9], [200, 400, 400]))
    assert shifted.psi() > 0.2
    # By hand: shares (0, 0, .2, .4, .4) floored at 1e-4 against 0.2 each.
    hand = 2 * (1e-4 - 0.2) * np.log(1e-4 / 0.2) + 2 * (0.4 - 0.2) * np.log(0.4 / 0.2)
    assert shifted.psi() == pytest.approx(hand)


def test_psi_of_an_empty_window_is_zero() -> None:
    assert psi(np.zeros(5, dtype=np.int64), np.full(5, 0.2)) == 0.0


def _samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    (family,) = histogram.collect()
    return {(s.name, s.labels.get("le", "")): s.value for s in family.samples}


@given(st.lists(st.one_of(st.floats(0, 6), st.sampled_from(SCORE_BUCKETS)), max_size=60))
def test_observe_many_equals_observe_one_by_one(amounts: list[float]) -> None:
    one_by_one = Histogram("s", "d", buckets=SCORE_BUCKETS, registry=CollectorRegistry())
    bulk = Histogram("s", "d", buckets=SCORE_BUCKETS, registry=CollectorRegistry())
    for amount in amounts:
        one_by_one.observe(amount)
    observe_many(bulk, np.array([*amounts, np.nan], dtype=np.float64))
    assert _samples(bulk) == pytest.approx(_samples(one_by_one))


def test_a_log_record_is_one_json_object_with_its_fields() -> None:
    record = logging.LogRecord(
        "clientscore.x", logging.ERROR, __file__, 1, "failed %s", ("x",), None
    )
    setattr(record, FIELDS, {"request_id": "r-1", "status": 500})
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line  # the traceback too stays on the one line
    entry = orjson.loads(line)
    assert entry["message"] == "failed x"
    assert (entry["level"], entry["logger"]) == ("error", "clientscore.x")
    assert (entry["request_id"], entry["status"]) == ("r-1", 500)
    assert "ValueError: boom" in entry["error"]
