"""A what-if predicts once and classifies twice: its comparison equals two separate runs.

`simulate` hands the active ruleset's model outputs to the candidate's classification (the
models do not depend on the ruleset); the transition counts must be those of classifying the
same profiles with each ruleset from scratch.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from app.book.columns import profile_columns
from app.book.validation import conform, split_valid
from app.book.whatif import sample_partitions, simulate
from app.classification.batch import classify_to_columns
from app.rules.ruleset import Ruleset, read_ruleset_files
from app.rules.store import RulesetStore
from app.serving.registry import load_champions

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 1)


def _candidate() -> Ruleset:
    files = read_ruleset_files(ROOT / "rules")
    text = files["ruleset.yaml"].decode()
    files["ruleset.yaml"] = text.replace("expense_ratio: 0.25", "expense_ratio: 0.45").encode()
    return Ruleset.from_files(files, cases="report")


def test_the_comparison_is_that_of_two_separate_classifications() -> None:
    champions = load_champions(ROOT / "models")
    active = RulesetStore(ROOT / "rules").load_active()
    candidate = _candidate()
    partitions = list(sample_partitions(600, 7, rows=250))
    summary = simulate(champions, active, candidate, partitions, as_of=TODAY).summary()

    expected: Counter[tuple[str, str]] = Counter()
    for raw in partitions:
        profiles, _ = split_valid(conform(raw, "the book"), date.today())
        columns = profile_columns(profiles)
        tiers = []
        for ruleset in (active, candidate):
            _, classified = classify_to_columns(
                columns, champions=champions, ruleset=ruleset, as_of=TODAY, explain=False
            )
            tiers.append([classified.outcomes[c].value_tier for c in classified.codes.tolist()])
        expected.update(zip(*tiers, strict=True))
    found = {
        (cell["from"], cell["to"]): cell["clients"]
        for cell in summary["dimensions"]["value_tier"]["transitions"]
    }
    assert found == dict(expected)
    assert sum(n for (a, b), n in expected.items() if a != b) > 0  # the change moved some
