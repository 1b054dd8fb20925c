"""Coverage: which checks and KPIs this firm's data can judge, and what is missing where it cannot.

A check that reads a canonical column no source fills (the stream is absent, the field is not in the org)
would read NULL and either find nothing or flag everything: it is *not covered* and does not run. A check
reading a column with unmapped vendor values runs, but the flows holding those values are *not judged*
(partly covered). What is missing is named with the source, stream, vendor field and the setting that
would fill it. Inputs come from two observations of the run: meta.canon_input (written by the canonical
build, closedloop/lineage.py) and meta.unmapped_value (closedloop/valuemaps.py).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from checks.loader import VIEWS_DIR

COVERAGE_DDL = """
CREATE SCHEMA IF NOT EXISTS results;
CREATE TABLE IF NOT EXISTS results.coverage(run_id VARCHAR, item_id VARCHAR, item_kind VARCHAR, status VARCHAR,
    not_judged BIGINT, missing VARCHAR, settings VARCHAR);
"""
COVERED, PARTLY, NOT_COVERED = "covered", "partly covered", "not covered"


@dataclass
class Coverage:
    """One check's or KPI's coverage in a run."""

    item_id: str
    item_kind: str  # check | kpi
    status: str = COVERED
    missing: list[str] = field(default_factory=list)  # what cannot be read, in words
    settings: list[str] = field(default_factory=list)  # the config keys that would fix it
    not_judged: int = 0  # findings left unjudged on flows with unmapped values
    unjudged_flows: set[str] = field(default_factory=set)  # correlation IDs holding those values


# --- what a query reads ---------------------------------------------------------------------------------
def _canon_schema(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns()"
        " WHERE database_name = current_database() AND schema_name = 'canon'"
    ).fetchall():
        out.setdefault(table, set()).add(column)
    return out


@functools.lru_cache(maxsize=512)
def _references(sql: str) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]], frozenset[str]]:
    """(schema.table aliases seen, (alias, column) pairs, unqualified columns) of one query, by SQLGlot."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    tables: set[tuple[str, str]] = set()
    for t in tree.find_all(exp.Table):
        schema = t.db or ""
        if schema in ("canon", "chk"):
            tables.add((t.alias_or_name, f"{schema}.{t.name}"))
    pairs, bare = set(), set()
    for c in tree.find_all(exp.Column):
        if c.table:
            pairs.add((c.table, c.name))
        else:
            bare.add(c.name)
    return frozenset(tables), frozenset(pairs), frozenset(bare)


@functools.lru_cache(maxsize=64)
def _view_sql(name: str) -> str | None:
    for path in sorted(Path(VIEWS_DIR).glob("*.sql")):
        if path.stem.split("_", 1)[1] == name:
            return path.read_text().strip().rstrip(";")
    return None


def reads(
    sql: str,
    schema: dict[str, set[str]],
    wanted: frozenset[str] | None = None,
    _seen: frozenset[str] = frozenset(),
) -> set[tuple[str, str]]:
    """Canonical (table, column) pairs a query reads, through the chk helper views it uses.

    Alias-qualified columns resolve to their table; an unqualified one counts for every canonical table of the
    query that has it (conservative). Columns of CTEs are read inside the CTE, where they are qualified. A
    helper view's `s.*` counts only for the columns its reader asks of it (`wanted`), so a check is not made
    to depend on every column of a table a view passes through.
    """
    try:
        tables, pairs, bare = _references(sql)
    except sqlglot.errors.ParseError:
        return set()
    by_alias: dict[str, set[str]] = {}
    for alias, name in tables:
        by_alias.setdefault(alias, set()).add(name)
    out: set[tuple[str, str]] = set()
    asked: dict[str, set[str]] = {}  # chk view -> the columns this query asks of it
    for alias, column in pairs:
        for name in by_alias.get(alias, ()):
            schema_name, table = name.split(".")
            if schema_name == "chk":
                asked.setdefault(table, set()).add(column)
            elif column == "*":
                out.update((table, c) for c in (wanted or ()) if c in schema.get(table, ()))
            elif column in schema.get(table, ()):
                out.add((table, column))
    canon_tables = {n.split(".")[1] for _, n in tables if n.startswith("canon.")}
    for column in bare:
        out.update((t, column) for t in canon_tables if column in schema.get(t, ()))
    for name in {n.split(".")[1] for _, n in tables if n.startswith("chk.")} - _seen:
        view = _view_sql(name)
        if view:
            out |= reads(view, schema, frozenset(asked.get(name, set()) | bare), _seen | {name})
    return out


# --- what the run lacks ---------------------------------------------------------------------------------
def _absent_inputs(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(table, column) -> [(what is missing, setting)] for canonical columns no source fills in this run."""
    if not _has(con, "meta", "canon_input"):
        return {}
    rows = con.execute(
        "SELECT table_name, column_name, detail, coalesce(setting, '') FROM meta.canon_input c"
        " WHERE status <> 'present' AND NOT EXISTS (SELECT 1 FROM meta.canon_input p WHERE p.status = 'present'"
        " AND p.table_name = c.table_name AND p.column_name = c.column_name) ORDER BY 1, 2, 3"
    ).fetchall()
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for table, column, detail, setting in rows:
        out.setdefault((table, column), []).append((detail, setting))
    return out


def _derived_inputs(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(table, column) -> [(why, setting)] for columns linking derived rows to the records they were made from.

    A check reading such a column compares rows with their own origin (a billing schedule derived from the
    milestones, checked against the milestones): it cannot find a break, so it is not covered, never passed.
    """
    if not _has(con, "meta", "canon_input"):
        return {}
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for table, column, detail, setting in con.execute(
        "SELECT DISTINCT table_name, column_name, detail, coalesce(setting, '') FROM meta.canon_input"
        " WHERE status = 'derived' ORDER BY 1, 2, 3"
    ).fetchall():
        out.setdefault((table, column), []).append((detail, setting))
    return out


def _unmapped(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str, int]]]:
    if not _has(con, "meta", "unmapped_value"):
        return {}
    out: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    for table, column, value, setting, rows in con.execute(
        "SELECT table_name, column_name, vendor_value, setting, sum(row_count) FROM meta.unmapped_value"
        " GROUP BY ALL ORDER BY 1, 2, 3"
    ).fetchall():
        out.setdefault((table, column), []).append((value, setting, int(rows)))
    return out


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
            " AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def assess(con: duckdb.DuckDBPyConnection, items: list[tuple[str, str, str]]) -> dict[str, Coverage]:
    """Coverage of (item_id, kind, sql) items before they run: not covered, partly (with the flows left
    unjudged) or covered. The run's observations are read once for all items."""
    schema = _canon_schema(con)
    absent = _absent_inputs(con)
    for column, why in _derived_inputs(con).items():
        absent.setdefault(column, []).extend(why)
    unmapped = _unmapped(con)
    flows = _unmapped_flows(con) if unmapped else {}
    out: dict[str, Coverage] = {}
    for item_id, kind, sql in items:
        cov = Coverage(item_id, kind)
        read = reads(sql, schema)
        for table, column in sorted(read & set(absent)):
            for what, setting in absent[(table, column)]:
                cov.missing.append(f"canon.{table}.{column}: {what}")
                if setting:
                    cov.settings.append(setting)
        if cov.missing:
            cov.status = NOT_COVERED
        else:
            for table, column in sorted(read & set(unmapped)):
                for value, setting, rows in unmapped[(table, column)]:
                    cov.missing.append(
                        f"canon.{table}.{column}: vendor value {value!r} unmapped ({rows:,} rows)"
                    )
                    cov.settings.append(setting)
                cov.unjudged_flows |= flows.get((table, column), set())
            if cov.missing:
                cov.status = PARTLY
        cov.settings = sorted(set(cov.settings))
        out[item_id] = cov
    return out


def _unmapped_flows(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[str]]:
    """(table, column) -> correlation IDs holding an unmapped value there: the flows a reader cannot judge."""
    out: dict[tuple[str, str], set[str]] = {}
    for table, column, cid in con.execute(
        "SELECT DISTINCT table_name, column_name, correlation_id FROM meta.unmapped_value"
        " WHERE correlation_id IS NOT NULL"
    ).fetchall():
        out.setdefault((table, column), set()).add(cid)
    return out


def store(con: duckdb.DuckDBPyConnection, run_id: str, coverage: list[Coverage], kind: str) -> None:
    """Replace this run's coverage rows of one kind (results.coverage: the CLI, run --json and the app read it)."""
    con.execute(COVERAGE_DDL)
    con.execute("DELETE FROM results.coverage WHERE run_id = ? AND item_kind = ?", [run_id, kind])
    if coverage:
        con.executemany(
            "INSERT INTO results.coverage VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    c.item_id,
                    c.item_kind,
                    c.status,
                    c.not_judged,
                    json.dumps(c.missing),
                    json.dumps(c.settings),
                )
                for c in coverage
            ],
        )


def summary(coverage: list[Coverage]) -> dict:
    """Counts per status and the items that are not fully covered: for `run --json` and the CLI."""
    counts = {s: sum(1 for c in coverage if c.status == s) for s in (COVERED, PARTLY, NOT_COVERED)}
    gaps = [
        {
            "id": c.item_id,
            "kind": c.item_kind,
            "status": c.status,
            "not_judged": c.not_judged,
            "missing": c.missing,
            "settings": c.settings,
        }
        for c in coverage
        if c.status != COVERED
    ]
    return {**counts, "total": len(coverage), "gaps": gaps}
