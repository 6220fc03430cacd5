"""The next-best-action simulation, small and seeded: learning finds the better actions the
starting rates get wrong, and the uplift interval holds the true uplift."""

from __future__ import annotations

import pytest

from app.rules.ruleset import Ruleset
from bench.strategy_sim import Simulation, coverage


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return Ruleset.load()


def test_learning_beats_the_starting_rates_in_a_world_they_get_wrong(ruleset: Ruleset) -> None:
    marks = (1_000, 5_000)
    learned = Simulation(ruleset, seed=3).run(marks)
    fixed = Simulation(ruleset, seed=3, learn=False).run(marks)
    assert fixed[-1].match < 0.7  # the starting rates pick the oracle's action too rarely
    assert learned[-1].match > fixed[-1].match + 0.15
    assert learned[-1].match > learned[0].match
    assert learned[-1].regret < 0.5 * fixed[-1].regret
    assert learned[-1].cumulative_regret < fixed[-1].cumulative_regret


def test_the_uplift_interval_holds_the_true_uplift_in_most_seeded_runs(ruleset: Ruleset) -> None:
    # A larger control share keeps the small runs' intervals informative.
    held, total = coverage(ruleset, runs=10, answers=2_500, control_share=0.2)
    assert total >= 40
    assert held / total >= 0.9
