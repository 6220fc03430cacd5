"""A book file's profiles checked column by column, as `ClientProfile` checks one profile.

A file's columns are cast to `PROFILE_SCHEMA` (a column that cannot be is a problem of the
whole file, named with its column); then each row is checked with the rules of the profile
schema, vectorised: enum values, ranges, dates not in the future, fields that do not apply to
the client's kind, purchase before first policy. Rows that break a rule are set aside with
each problem (client id, field, rule) and the rest are classified.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.book.columns import COUNTS, DATES, DEFAULTS, MONEY, PROFILE_SCHEMA
from app.errors import ServiceError
from app.profiles.enums import ClientKind, Consent, ContactChannel, Product
from app.profiles.schemas import COMPANY_ONLY, MAX_AGE, PERSON_ONLY
from app.serving.features import PROFILE_LEVELS

ENUMS = PROFILE_LEVELS  # each word column and its values
RANGES = {
    "occupation_class": (1, 6),
    "dependents": (0, 20),
    "city_tier": (1, 5),
    "employees": (0, 10_000_000),
    "annual_income": (0, 1e13),
    "annual_revenue": (0, 1e13),
    "property_value": (0, 1e13),
    "premium_discount_rate": (0, 1),
    **dict.fromkeys(COUNTS, (0, 1_000_000)),
    **dict.fromkeys(MONEY, (0, 1e13)),
}
_PAIR = "({channels}):({choices})".format(
    channels="|".join(c.value for c in ContactChannel), choices="|".join(c.value for c in Consent)
)
_CONSENT = f"^{_PAIR}(\\|{_PAIR})*$"  # the import's CSV cell: call:refused|sms:granted
REJECTED_SCHEMA = pa.schema(
    [("client_id", pa.string()), ("field", pa.string()), ("rule", pa.string())]
)


def conform(table: pa.Table, where: str) -> pa.Table:
    """`table` in `PROFILE_SCHEMA`: missing columns take the profile's default (or null);
    other columns are left out; a column of the wrong type is refused, named."""
    if "client_id" not in table.column_names:
        raise ServiceError(f"{where}: the profiles need a client_id column")
    columns = []
    for field in PROFILE_SCHEMA:
        if field.name not in table.column_names:
            default = DEFAULTS.get(field.name)
            columns.append(pa.array([default] * table.num_rows, field.type))
            continue
        column = table[field.name]
        if field.name == "products_held" and pa.types.is_string(column.type):
            column = pc.split_pattern(column, "|")  # the import format's list separator
        try:
            column = column.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ServiceError(
                f"{where}: column {field.name} ({column.type}) is not {field.type}: {exc}"
            ) from None
        if field.name in DEFAULTS:
            column = column.fill_null(pa.scalar(DEFAULTS[field.name], field.type))
        columns.append(column)
    return pa.table(columns, schema=PROFILE_SCHEMA)


def _problems(table: pa.Table, today: date) -> list[tuple[str, str, pa.Array]]:
    """(field, rule, rows breaking it) for each rule."""
    checks: list[tuple[str, str, pa.Array]] = [
        ("client_id", "missing", pc.is_null(table["client_id"])),
        ("kind", "missing", pc.is_null(table["kind"])),
    ]
    for name, values in ENUMS.items():
        allowed = pa.array(values)
        unknown = pc.and_(pc.is_valid(table[name]), pc.invert(pc.is_in(table[name], allowed)))
        checks.append((name, "enum", unknown))
    for name, (low, high) in RANGES.items():
        outside = pc.or_(pc.less(table[name], low), pc.greater(table[name], high))
        checks.append((name, "range", pc.fill_null(outside, False)))
    consent = pc.invert(pc.match_substring_regex(table["contact_consent"], _CONSENT))
    checks.append(("contact_consent", "consent_format", pc.fill_null(consent, False)))
    age = pc.subtract(pa.scalar(today.year), table["birth_year"])
    outside = pc.or_(pc.less(age, 0), pc.greater(age, MAX_AGE))
    checks.append(("birth_year", "age_range", pc.fill_null(outside, False)))
    for name in DATES:
        future = pc.fill_null(pc.greater(table[name], pa.scalar(today, pa.date32())), False)
        checks.append((name, "date_not_in_future", future))
    before = pc.less(table["last_purchase_date"], table["first_policy_date"])
    checks.append(("last_purchase_date", "date_order", pc.fill_null(before, False)))
    products = table["products_held"].combine_chunks()
    flat = pc.list_flatten(products)
    unknown = pc.invert(pc.is_in(flat, pa.array([p.value for p in Product])))
    if len(flat) and pc.any(unknown).as_py():
        parents = pc.filter(pc.list_parent_indices(products), unknown)
        rows = pc.is_in(pa.array(np.arange(table.num_rows)), parents)
        checks.append(("products_held", "enum", rows))
    corporate = pc.equal(table["kind"], ClientKind.corporate.value)
    for names, kind in ((PERSON_ONLY, corporate), (COMPANY_ONLY, pc.invert(corporate))):
        for name in names:
            wrong = pc.fill_null(pc.and_(kind, pc.is_valid(table[name])), False)
            checks.append((name, "kind_mismatch", wrong))
    return checks


def split_valid(table: pa.Table, today: date) -> tuple[pa.Table, pa.Table]:
    """(the rows that keep every rule, each problem of the others as REJECTED_SCHEMA rows)."""
    bad = pa.array(np.zeros(table.num_rows, dtype=bool))
    problems = []
    for name, rule, rows in _problems(table, today):
        if pc.any(rows).as_py():
            bad = pc.or_(bad, rows)
            ids = pc.filter(table["client_id"], rows)
            problems.append(
                pa.table(
                    [ids, pa.array([name] * len(ids)), pa.array([rule] * len(ids))],
                    schema=REJECTED_SCHEMA,
                )
            )
    rejected = pa.concat_tables(problems) if problems else REJECTED_SCHEMA.empty_table()
    if not pc.any(bad).as_py():
        return table, rejected
    return table.filter(pc.invert(bad)), rejected
