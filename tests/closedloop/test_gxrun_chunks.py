"""Contracts over a relation bigger than one frame: chunked validation gives what one whole frame gives."""

from __future__ import annotations

import duckdb
import pytest

from closedloop.contracts import gxrun
from closedloop.contracts.rules import Rule, Target


def _rule(kind: str, expectation: str, col: str, helper: str | None = None, **kw) -> Rule:
    """As closedloop.contracts.rules builds them: the column goes in kwargs unless the rule names its own."""
    if not {"column", "column_list", "column_A"} & set(kw):
        kw["column"] = col
    label = f"{col} unique" if expectation == "ExpectColumnValuesToBeUnique" else f"{col} {kind}"
    return Rule(kind, expectation, col, kw, "critical", label, helper)


RULES = [
    _rule("key", "ExpectColumnValuesToNotBeNull", "id"),
    _rule("key", "ExpectColumnValuesToBeUnique", "id"),
    _rule("key", "ExpectCompoundColumnsToBeUnique", "a,b", column_list=["a", "b"]),
    _rule("allowed", "ExpectColumnValuesToBeInSet", "status", value_set=["open", "closed"]),
    _rule("non_negative", "ExpectColumnValuesToBeBetween", "amount", min_value=0),
    _rule(
        "date_order",
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "start_d,end_d",
        column_A="end_d",
        column_B="start_d",
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    ),
    _rule(
        "references",
        "ExpectColumnValuesToBeInSet",
        "parent_id",
        helper="(parent_id IS NULL OR EXISTS (SELECT 1 FROM parent AS p WHERE p.id = t.parent_id))",
        column="parent_id__ref",
        value_set=[True],
    ),
]
COLUMNS = {c: "VARCHAR" for c in ("id", "a", "b", "status", "parent_id")} | {
    "amount": "DOUBLE",
    "start_d": "DATE",
    "end_d": "DATE",
}


@pytest.fixture
def con():
    """10,000 rows with every kind of break, the twins of each duplicate key far apart (other frames)."""
    c = duckdb.connect()
    c.execute("CREATE TABLE parent AS SELECT 'P' || i AS id FROM range(50) r(i)")
    c.execute(
        """CREATE TABLE item AS SELECT
             CASE WHEN i % 997 = 5 THEN NULL WHEN i IN (9000, 9001) THEN 'I' || (i - 8990) ELSE 'I' || i END AS id,
             CASE WHEN i % 1500 = 7 THEN NULL ELSE 'A' || (i % 5000) END AS a,
             CASE WHEN i % 1500 = 7 THEN NULL WHEN i % 5 = 0 THEN 'x' ELSE 'y' || i END AS b,
             CASE WHEN i % 613 = 3 THEN 'lost' WHEN i % 7 = 0 THEN NULL ELSE 'open' END AS status,
             CASE WHEN i % 401 = 11 THEN -1.5 ELSE i * 1.0 END AS amount,
             DATE '2026-01-01' + (i % 30)::INT AS start_d,
             CASE WHEN i % 809 = 1 THEN DATE '2025-12-01' WHEN i % 50 = 0 THEN NULL
                  ELSE DATE '2026-02-01' END AS end_d,
             CASE WHEN i % 333 = 9 THEN 'GONE' ELSE 'P' || (i % 50) END AS parent_id
           FROM range(10000) r(i)"""
    )
    yield c
    c.close()


def _target() -> Target:
    return Target("canon", "item", "item", ("id",), list(RULES), dict(COLUMNS))


def _by_rule(rows: list[dict]) -> dict[str, tuple]:
    return {
        r["label"]: (r["success"], r["unexpected_count"], r["element_count"], r["exception"]) for r in rows
    }


# Each rule's failing rows, counted by SQL the way GX counts them (NULLs ignored by value rules).
FAILING = {
    "id key": "id IS NULL",
    "id unique": "id IN (SELECT id FROM item GROUP BY id HAVING count(*) > 1)",
    "a,b key": "NOT (a IS NULL AND b IS NULL) AND (a, b) IN"
    " (SELECT (a, b) FROM item GROUP BY a, b HAVING count(*) > 1)",
    "status allowed": "status NOT IN ('open', 'closed')",
    "amount non_negative": "amount < 0",
    "start_d,end_d date_order": "end_d < start_d",
    "parent_id references": "parent_id NOT IN (SELECT id FROM parent)",
}


def test_chunked_validation_equals_one_frame_and_counts_every_break(con):
    whole = _by_rule(gxrun.validate_targets(con, [_target()], chunk_rows=1_000_000))
    chunked = _by_rule(gxrun.validate_targets(con, [_target()], chunk_rows=2048))  # five frames
    assert chunked == whole
    for label, where in FAILING.items():
        failing = con.execute(f"SELECT count(*) FROM item WHERE {where}").fetchone()[0]
        assert failing > 0, label  # the fixture breaks every rule
        assert whole[label] == (False, failing, 10_000, None), label


def test_chunked_samples_name_failing_rows(con):
    rows = gxrun.validate_targets(con, [_target()], chunk_rows=2048, sample_keys=5)
    negative = next(r for r in rows if r["expectation"] == "ExpectColumnValuesToBeBetween")
    ids = {s["id"] for s in negative["samples"]}
    bad = {r[0] for r in con.execute("SELECT id FROM item WHERE amount < 0").fetchall()}
    assert ids and ids <= bad
