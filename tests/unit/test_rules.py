"""The ruleset: loading, refusal with precise messages, versioning, tables and strategy."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cli.rules import register
from app.profiles.enums import Channel, Industry, Ownership, Product, PropertyCondition
from app.profiles.schemas import ClientProfile, profile_example
from app.rules.engine import DIMENSIONS
from app.rules.errors import RulesetRefused
from app.rules.facts import ClassificationFacts, facts_from_profile
from app.rules.jdm import MAX_TABLE_ROWS
from app.rules.outcome import LifecycleStage, RiskTier, RuleOutcome, ValueTier
from app.rules.ruleset import DEFAULT_RULESET_DIR, Ruleset, read_ruleset_files, ruleset_version
from app.settings import Settings

Files = dict[str, bytes]


@pytest.fixture(scope="module")
def files() -> Files:
    return read_ruleset_files(DEFAULT_RULESET_DIR)


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    return Ruleset.load()


def refusal(files: Files) -> str:
    with pytest.raises(RulesetRefused) as caught:
        Ruleset.from_files(files, source="test")
    return caught.value.detail


def edit_table(files: Files, table: str, change: Any) -> Files:
    graph = json.loads(files[f"tables/{table}.json"])
    node = next(n for n in graph["nodes"] if n["type"] == "decisionTableNode")
    change(node["content"], graph)
    return {**files, f"tables/{table}.json": json.dumps(graph).encode()}


def replace(files: Files, name: str, old: str, new: str) -> Files:
    assert old.encode() in files[name], f"{old!r} is not in {name}"
    return {**files, name: files[name].replace(old.encode(), new.encode(), 1)}


def test_the_default_ruleset_loads_with_every_case_passing(ruleset: Ruleset) -> None:
    assert re.fullmatch(r"rs-[0-9a-f]{12}", ruleset.version)
    assert set(ruleset.rows) == {*DIMENSIONS, "strategy"}
    assert ruleset.cases >= 100
    assert ruleset.clv_parameters.horizon_years == 5


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        (
            lambda f: replace(
                f, "cases.yaml", "expect: {value_tier: high}", "expect: {value_tier: medium}"
            ),
            "cases.yaml: value_tier, case 'top of the book, renews, few claims'",
            "value_tier is 'high', expected 'medium'; matched row 2 top-renews-few-claims",
        ),
        (
            lambda f: replace(f, "cases.yaml", "{clv_percentile: 80}", "{clv_percentil: 80}"),
            "cases.yaml: abc_grade, case '80th percentile is A'",
            "input.clv_percentil: Extra inputs are not permitted",
        ),
        (
            lambda f: replace(
                f, "cases.yaml", "at_risk, value_tier: medium", "at_risk, value_tier: mid"
            ),
            "cases.yaml: strategy, case 'medium-value client at risk'",
            "input.value_tier: 'mid' is not one of high, low, medium",
        ),
        (
            lambda f: {**f, "tables/risk_tier.json": f["tables/risk_tier.json"][:-40]},
            "tables/risk_tier.json",
            "not valid JSON",
        ),
        (
            lambda f: replace(f, "tables/risk_tier.json", '">= 0.8"', '">= (0.8"'),
            "tables/risk_tier.json: row 2 (loss-ratio-high), expected_loss_ratio",
            "not a valid cell: parserError",
        ),
        (
            lambda f: replace(f, "tables/risk_tier.json", '"\\"medium\\""', '"\\"meduim\\""'),
            "tables/risk_tier.json: row 5 (loss-ratio-medium), risk_tier",
            '"meduim" is not one of high, low, medium',
        ),
        (
            lambda f: replace(
                f, "tables/strategy.json", '"\\"trial_offer\\""', '"\\"free_lunch\\""'
            ),
            "tables/strategy.json: row 25 (target-trial-offer), action",
            '"free_lunch" is not an action of ruleset.yaml',
        ),
        (
            lambda f: replace(f, "tables/abc_grade.json", '"_id": "b"', '"_id": "a"'),
            "tables/abc_grade.json: row 2 (a)",
            "every row needs its own _id",
        ),
        (
            lambda f: edit_table(f, "value_tier", lambda t, _g: t.update(hitPolicy="collect")),
            "tables/value_tier.json",
            "hit policy must be first, not collect",
        ),
        (
            lambda f: edit_table(f, "value_tier", lambda _t, g: g.update(edges=g["edges"][:1])),
            "tables/value_tier.json",
            "edges must run input node -> table -> output node",
        ),
        (
            lambda f: edit_table(
                f, "abc_grade", lambda t, _g: t["outputs"][0].update(field="grade")
            ),
            "tables/abc_grade.json",
            "output column abc_grade is missing",
        ),
        (
            lambda f: edit_table(f, "value_tier", lambda t, _g: t.update(rules=t["rules"][:-1])),
            "cases.yaml: value_tier, case 'bottom of the book'",
            "table value_tier matched no row for this client",
        ),
        (
            lambda f: {k: v for k, v in f.items() if k != "tables/group_scale.json"},
            "tables/group_scale.json",
            "table group_scale is missing",
        ),
        (
            lambda f: {**f, "tables/extra.json": f["tables/abc_grade.json"]},
            "tables/extra.json",
            "is not a table of this ruleset",
        ),
        (
            lambda f: replace(f, "ruleset.yaml", "discount_rate: 0.05", "discount_rate: 1.5"),
            "ruleset.yaml: clv.discount_rate",
            "Input should be less than 1",
        ),
        (
            lambda f: replace(f, "ruleset.yaml", "b_share: 0.3", "b_share: 0.8"),
            "ruleset.yaml: abc",
            "a_share + b_share must leave a share for C",
        ),
        (
            lambda f: replace(f, "ruleset.yaml", "    corporate:\n", "    company:\n"),
            "ruleset.yaml: clv.segments.company.[key]",
            "Input should be 'individual' or 'corporate'",
        ),
        (
            lambda f: {k: v for k, v in f.items() if k != "ruleset.yaml"},
            "ruleset.yaml",
            "the file is missing",
        ),
        (
            lambda f: {**f, "cases.yaml": b"# no cases yet\n"},
            "cases.yaml: strategy",
            "the table has no example cases",
        ),
        (
            lambda f: replace(f, "cases.yaml", "\nprospect_grade:\n", "\nprospect_grades:\n"),
            "cases.yaml: prospect_grade",
            "the table has no example cases",
        ),
    ],
    ids=[
        "failing-case", "case-unknown-fact", "case-bad-upstream", "malformed-json",
        "bad-cell", "bad-output", "unknown-action", "duplicate-row-id", "hit-policy",
        "broken-edges", "missing-output", "no-row-matches", "missing-table", "unknown-table",
        "bad-rate", "bad-abc-shares", "bad-segment", "missing-parameters", "empty-cases",
        "table-without-cases",
    ],
)  # fmt: skip
def test_a_broken_ruleset_is_refused_naming_what_is_wrong(
    files: Files, edit: Any, where: str, says: str
) -> None:
    detail = refusal(edit(files))
    assert any(where in line and says in line for line in detail.splitlines()), detail


def test_every_problem_is_reported_at_once(files: Files) -> None:
    broken = replace(files, "ruleset.yaml", "horizon_years: 5", "horizon_years: 0")
    broken = {k: v for k, v in broken.items() if k != "tables/group_scale.json"}
    detail = refusal(broken)
    assert "refused (2 problems)" in detail
    assert "clv.horizon_years" in detail
    assert "tables/group_scale.json: table group_scale is missing" in detail


def test_the_version_is_a_hash_of_the_content(files: Files, tmp_path: Path) -> None:
    version = ruleset_version(files)
    assert ruleset_version(dict(reversed(files.items()))) == version
    shutil.copytree(DEFAULT_RULESET_DIR, tmp_path / "copy")
    (tmp_path / "copy" / "README.md").write_text("notes are not part of the ruleset")
    assert ruleset_version(read_ruleset_files(tmp_path / "copy")) == version
    for name in files:
        changed = {**files, name: files[name] + b"\n"}
        assert ruleset_version(changed) != version, name
    renamed = {
        ("tables/x.json" if k == "tables/abc_grade.json" else k): v for k, v in files.items()
    }
    assert ruleset_version(renamed) != version


def test_an_edited_ruleset_loads_with_a_new_version(files: Files, ruleset: Ruleset) -> None:
    edited = replace(files, "ruleset.yaml", "discount_rate: 0.05", "discount_rate: 0.04")
    loaded = Ruleset.from_files(edited)
    assert loaded.version != ruleset.version
    assert loaded.clv_parameters.discount_rate == 0.04


def test_abc_shares_move_the_grade_cut_offs(files: Files) -> None:
    edited = replace(
        files, "ruleset.yaml", "a_share: 0.2\n  b_share: 0.3", "a_share: 0.1\n  b_share: 0.4"
    )
    edited = replace(
        edited,
        "cases.yaml",
        "80th percentile is A, input: {clv_percentile: 80}, expect: {abc_grade: A}",
        "80th percentile is now B, input: {clv_percentile: 80}, expect: {abc_grade: B}",
    )
    engine = Ruleset.from_files(edited).engine
    grades = {
        p: engine.dimension("abc_grade", engine.context(facts(clv_percentile=p)))[0]
        for p in (89.9, 90, 50, 49.9)
    }
    assert grades == {89.9: "B", 90: "A", 50: "B", 49.9: "C"}


def facts(**values: Any) -> ClassificationFacts:
    return ClassificationFacts.model_validate({"kind": "individual", **values})


# China's 2011 SME standard (MIIT No. 300), revenue in yuan: at thresholds and just below.
@pytest.mark.parametrize(
    ("industry", "employees", "revenue", "scale"),
    [
        ("manufacturing", 1000, 4e8, "large"), ("manufacturing", 999, 4e8, "medium"),
        ("mining", 1000, 4e8 - 1, "medium"), ("utilities", 300, 2e7, "medium"),
        ("manufacturing", 300, 2e7 - 1, "small"), ("manufacturing", 20, 3e6, "small"),
        ("manufacturing", 19, 3e6, "micro"), ("manufacturing", 20, 3e6 - 1, "micro"),
        ("wholesale", 200, 4e8, "large"), ("wholesale", 20, 5e7, "medium"),
        ("wholesale", 19, 5e7, "small"), ("wholesale", 5, 1e7, "small"),
        ("wholesale", 4, 1e7, "micro"), ("retail", 300, 2e8, "large"),
        ("retail", 299, 2e8, "medium"), ("retail", 50, 5e6, "medium"),
        ("retail", 10, 1e6, "small"), ("retail", 10, 1e6 - 1, "micro"),
        ("transport", 1000, 3e8, "large"), ("transport", 300, 3e7, "medium"),
        ("transport", 20, 2e6, "small"), ("warehousing", 200, 3e8, "large"),
        ("warehousing", 100, 1e7, "medium"), ("postal", 300, 2e7, "medium"),
        ("hospitality", 300, 1e8, "large"), ("catering", 100, 2e7, "medium"),
        ("catering", 9, 1e6, "micro"), ("telecom", 2000, 1e9, "large"),
        ("telecom", 100, 1e7, "medium"), ("software_it", 300, 1e8, "large"),
        ("software_it", 10, 5e5, "small"), ("software_it", 9, 5e5, "micro"),
        ("property_management", 1000, 5e7, "large"), ("property_management", 300, 1e7, "medium"),
        ("property_management", 100, 5e6, "small"), ("property_management", 99, 5e6, "micro"),
        ("agriculture", None, 2e8, "large"), ("agriculture", 3, 5e6, "medium"),
        ("agriculture", None, 5e5, "small"), ("agriculture", None, 5e5 - 1, "micro"),
        ("construction", None, 8e8, "large"), ("construction", None, 6e7, "medium"),
        ("construction", None, 3e6, "small"), ("construction", None, 3e6 - 1, "micro"),
        ("real_estate", None, 2e9, "large"), ("real_estate", None, 1e7, "medium"),
        ("real_estate", None, 1e6, "small"), ("real_estate", None, 1e6 - 1, "micro"),
        ("leasing_business_services", 300, None, "large"),
        ("leasing_business_services", 100, None, "medium"),
        ("finance", 10, None, "small"), ("education", 9, None, "micro"), (None, 300, None, "large"),
        ("manufacturing", None, 4e8, None), ("retail", 300, None, None),
    ],
)  # fmt: skip
def test_group_scale_follows_the_2011_sme_standard(
    ruleset: Ruleset, industry: str | None, employees: int | None, revenue: float | None, scale: str
) -> None:
    client = facts(kind="corporate", industry=industry, employees=employees, annual_revenue=revenue)
    engine = ruleset.engine
    assert engine.dimension("group_scale", engine.context(client))[0] == scale


def test_rules_fired_name_each_table_and_the_matched_row(ruleset: Ruleset) -> None:
    outcome = ruleset.evaluate(
        facts(
            in_force_policies=2, has_first_policy=True, products_held=["auto", "health"],
            missed_payments_12m=2, lapse_probability=0.12, expected_loss_ratio=0.2,
            clv_percentile=55, renewals=3,
        )
    )  # fmt: skip
    tables = [r.table for r in outcome.rules_fired]
    assert tables[:6] == list(DIMENSIONS)
    assert set(tables[6:]) == {"strategy"}
    stage = outcome.rules_fired[3]
    assert (stage.rule_id, stage.row) == ("missed-payments", 3)
    assert stage.description == "Missed 2 or more payments in 12 months"
    assert outcome.lifecycle_stage == "at_risk"
    assert [a.code for a in outcome.actions][:3] == [
        "retention_offer", "care_activities", "personalised_recommendation",
    ]  # fmt: skip
    retention = outcome.actions[0]
    assert (retention.title_zh, retention.title_en) == ("挽留优惠", "Retention offer")
    assert retention.reason_en == "Client showing signs of leaving"


def test_the_cli_validates_a_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["rules", "validate"])
    args.func(Settings(), args)
    assert re.search(r"is valid: version rs-[0-9a-f]{12}, 7 tables", capsys.readouterr().out)
    shutil.copytree(DEFAULT_RULESET_DIR, tmp_path / "broken")
    (tmp_path / "broken" / "tables" / "strategy.json").unlink()
    args = parser.parse_args(["rules", "validate", str(tmp_path / "broken")])
    with pytest.raises(RulesetRefused, match="table strategy is missing"):
        args.func(Settings(), args)


def test_facts_from_a_profile() -> None:
    profile = ClientProfile.model_validate(profile_example())
    client = facts_from_profile(
        profile, as_of=date(2026, 10, 22), lapse_probability=0.05,
        expected_claim_frequency=0.1, expected_loss_ratio=0.05, purchase_probability=None,
        clv=30000.0, clv_percentile=88.0,
    )  # fmt: skip
    assert client.age == 42
    assert client.has_first_policy
    assert client.tenure_years == pytest.approx(10.64, abs=0.01)
    assert client.days_since_last_interaction == 10
    assert client.renewal_rate == 1.0
    assert client.products_held == ("auto", "health", "life")


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


probability = st.floats(0, 1)
count = st.integers(0, 30)
any_facts = st.builds(
    ClassificationFacts,
    kind=st.sampled_from(["individual", "corporate"]),
    age=maybe(st.integers(0, 130)),
    occupation_class=maybe(st.integers(1, 6)),
    industry=maybe(st.sampled_from(list(Industry))),
    employees=maybe(st.integers(0, 200_000)),
    annual_revenue=maybe(st.floats(0, 1e11)),
    ownership=maybe(st.sampled_from(list(Ownership))),
    channel=maybe(st.sampled_from(list(Channel))),
    has_first_policy=st.booleans(),
    tenure_years=maybe(st.floats(0, 60)),
    in_force_policies=st.integers(0, 12),
    products_held=st.lists(st.sampled_from(list(Product)), unique=True).map(tuple),
    annual_premium=st.floats(0, 1e7),
    renewals=count, lapses=count, claim_count_3y=count, complaints_12m=count,
    missed_payments_12m=count, interactions_12m=count, referrals=count,
    days_since_last_interaction=maybe(st.integers(0, 5000)),
    renewal_intent=maybe(st.booleans()), campaign_target=st.booleans(),
    flood_zone=maybe(st.booleans()), typhoon_zone=maybe(st.booleans()),
    property_condition=maybe(st.sampled_from(list(PropertyCondition))),
    lapse_probability=maybe(probability), expected_claim_frequency=maybe(st.floats(0, 50)),
    expected_loss_ratio=maybe(st.floats(0, 20)), purchase_probability=maybe(probability),
    clv=st.floats(-1e7, 1e8), clv_percentile=st.floats(0, 100),
)  # fmt: skip


def chained(ruleset: Ruleset, client: ClassificationFacts) -> RuleOutcome:
    """The same classification table by table, as the example cases run it."""
    engine = ruleset.engine
    context = engine.context(client)
    outputs: dict[str, Any] = {}
    fired = []
    for name in DIMENSIONS:
        outputs[name], row = engine.dimension(name, context)
        fired.append(row)
    actions, rows = engine.actions({**context, **outputs})
    return RuleOutcome(**outputs, actions=actions, rules_fired=(*fired, *rows))


@settings(max_examples=300, deadline=None)
@given(client=any_facts)
def test_every_client_gets_one_class_per_dimension_and_a_strategy(
    ruleset: Ruleset, client: ClassificationFacts
) -> None:
    outcome = ruleset.evaluate(client)
    assert outcome.value_tier in get_args(ValueTier)
    assert outcome.risk_tier in get_args(RiskTier)
    assert outcome.lifecycle_stage in get_args(LifecycleStage)
    assert outcome.abc_grade in ("A", "B", "C")
    codes = [a.code for a in outcome.actions]
    assert codes, "the strategy is empty"
    assert len(set(codes)) == len(codes)
    priority = [a.code for a in ruleset.document.actions]
    assert codes == sorted(codes, key=priority.index)
    assert (outcome.group_scale is None) or client.kind == "corporate"
    assert outcome == chained(ruleset, client)


def test_every_action_has_a_call_script_in_both_languages(files: Files, ruleset: Ruleset) -> None:
    for action in ruleset.document.actions:
        assert action.script.zh.strip()
        assert action.script.en.strip()
    document = yaml.safe_load(files["ruleset.yaml"])
    del document["actions"][1]["script"]["en"]
    edited = {**files, "ruleset.yaml": yaml.safe_dump(document, allow_unicode=True).encode()}
    assert "actions.1.script.en" in refusal(edited)


def _rows_before(n: int) -> Callable[[dict[str, Any], Any], None]:
    """`n` rows of exact claim counts put before the table's own (risk_tier, first hit)."""

    def change(content: dict[str, Any], _graph: Any) -> None:
        template = content["rules"][0]
        made = [
            dict.fromkeys(template, "")
            | {"_id": f"gen-{i}", "_description": f"made {i}", "claims": str(900 + i)}
            | {"tier": '"high"'}
            for i in range(n)
        ]
        content["rules"] = made + content["rules"]

    return change


def test_a_table_of_thousands_of_rows_compiles_and_agrees_with_zen(files: Files) -> None:
    big = Ruleset.from_files(edit_table(files, "risk_tier", _rows_before(3_000)), source="big")
    assert big.compiled is not None
    profile = ClientProfile.model_validate(profile_example() | {"claim_count_3y": 2_950})
    facts = facts_from_profile(
        profile, as_of=date(2026, 10, 22), lapse_probability=0.05,
        expected_claim_frequency=0.1, expected_loss_ratio=0.05, purchase_probability=None,
        clv=30000.0, clv_percentile=88.0,
    )  # fmt: skip
    compiled = big.compiled.evaluate_facts(facts)
    assert compiled == big.engine.evaluate(facts)
    assert compiled.risk_tier == "high"
    assert [r.rule_id for r in compiled.rules_fired if r.table == "risk_tier"] == ["gen-2050"]


def test_a_table_over_the_row_limit_is_refused_naming_it_and_the_limit(files: Files) -> None:
    detail = refusal(edit_table(files, "risk_tier", _rows_before(MAX_TABLE_ROWS)))
    assert "tables/risk_tier.json" in detail
    assert f"at most {MAX_TABLE_ROWS:,} are allowed" in detail
