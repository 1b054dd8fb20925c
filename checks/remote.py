"""The check step on another engine: the canonical model there (copied by the run, or the firm's own), the
helpers built there, each rule run there, and only its rows brought back into the run's DuckDB file (where
findings, cases and the lifecycle are computed exactly as for a DuckDB run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from checks.loader import VIEWS_DIR
from checks.transpile import Placement, transpile

# Tables outside canon.* that rules and KPIs read (results.monitor: the run's monitor verdicts).
EXTRA_TABLES = ("results.monitor",)
# The findings and their history (KPIs K02/K04/K08 read them), sent after the checks.
RESULT_TABLES = ("results.finding", "results.finding_history")


@dataclass
class Movement:
    """What went over the wire to the engine and back, and how long transpiling took."""

    tables: int = 0
    rows_out: int = 0
    bytes_out: int = 0
    rows_back: int = 0
    bytes_back: int = 0
    seconds_out: float = 0.0
    transpile_seconds: float = 0.0
    per_table: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tables": self.tables,
            "rows_out": self.rows_out,
            "bytes_out": self.bytes_out,
            "rows_back": self.rows_back,
            "bytes_back": self.bytes_back,
            "seconds_out": round(self.seconds_out, 3),
            "transpile_seconds": round(self.transpile_seconds, 4),
        }


@dataclass
class Remote:
    """The engine a run's rules execute on, where its tables live there, and what moved to it and back.

    The rule files name canon.*, chk.* and results.*; on the engine the canonical tables are in
    `canonical_schema` and everything the run writes is in `work_schema` (helpers as chk_<name>, the tables
    the rules read back as results_<name>), so the firm grants read on one schema and write on another.
    `canonical`: "copy" sends the run's canonical tables; "existing" reads the firm's own there, never written
    by the run; "build" sends the run's raw tables (as raw_<source>__<stream> in the work schema) and `build`
    builds the canonical model there from them (closedloop/engines/canon_build.py).
    """

    engine: Any
    password: str | None = None
    canonical_schema: str = "canon"
    work_schema: str = "closedloop"
    canonical: str = "copy"
    build: Callable[[duckdb.DuckDBPyConnection, Remote], None] | None = None
    movement: Movement = field(default_factory=Movement)

    @property
    def placement(self) -> Placement:
        return {
            "canon": (self.canonical_schema, ""),
            "chk": (self.work_schema, "chk_"),
            "results": (self.work_schema, "results_"),
            "raw": (self.work_schema, "raw_"),
        }

    def name(self, logical: str) -> str:
        """schema.table on the engine of a logical `canon.x` / `chk.x` / `results.x`."""
        schema, table = logical.split(".", 1)
        place, prefix = self.placement[schema]
        return f"{place}.{prefix}{table}"

    def sql(self, text: str, values: dict[str, Any]) -> str:
        started = time.perf_counter()
        try:
            return transpile(text, values, self.engine.dialect, self.placement)
        finally:
            self.movement.transpile_seconds += time.perf_counter() - started

    def send(self, con: duckdb.DuckDBPyConnection, logical: str) -> None:
        """One local table to its place on the engine, replacing what a previous run left there."""
        started = time.perf_counter()
        table = con.execute(f"SELECT * FROM {logical}").to_arrow_table()
        self.movement.bytes_out += self.engine.create_table(self.name(logical), table)
        self.movement.rows_out += table.num_rows
        self.movement.per_table[logical] = table.num_rows
        self.movement.tables += 1
        self.movement.seconds_out += time.perf_counter() - started


def model_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The run's canonical tables plus the result tables rules read, as schema.table."""
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND (schema_name = 'canon' OR "
        "schema_name || '.' || table_name IN (SELECT unnest(?::VARCHAR[]))) ORDER BY 1",
        [list(EXTRA_TABLES)],
    ).fetchall()
    return [r[0] for r in rows]


def push_model(con: duckdb.DuckDBPyConnection, remote: Remote) -> None:
    """The canonical model (copied, or built there from the raw tables, unless the firm's own is read) and the
    result tables rules read, to the engine."""
    schemas = {remote.work_schema} | (set() if remote.canonical == "existing" else {remote.canonical_schema})
    for schema in sorted(schemas):
        remote.engine.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    if remote.canonical == "build":
        if remote.build is None:
            raise ValueError('[engine] canonical = "build" needs the run\'s sources to build from')
        remote.build(con, remote)
    for logical in model_tables(con):
        if remote.canonical != "copy" and logical.startswith("canon."):
            continue
        remote.send(con, logical)


def push_results(con: duckdb.DuckDBPyConnection, remote: Remote) -> None:
    """The findings and their history to the engine, after the checks stored them here."""
    for logical in RESULT_TABLES:
        remote.send(con, logical)


def create_remote_views(remote: Remote, ctx: dict[str, Any]) -> None:
    """The chk.* helpers on the engine, from the same view files ("-- materialize" = a table there too)."""
    for path in sorted(VIEWS_DIR.glob("*.sql")):
        name = remote.name("chk." + path.stem.split("_", 1)[1])
        body = path.read_text().strip().rstrip(";")
        kind = "TABLE" if body.startswith("-- materialize") else "VIEW"
        sql = remote.sql(body, ctx)
        try:
            remote.engine.create_as(name, sql, materialize=kind == "TABLE")
        except Exception as exc:
            raise RuntimeError(
                f"{path}: helper {name} does not build on {remote.engine.kind}: {exc}"
            ) from exc


def fetch_rows(remote: Remote, sql: str, values: dict[str, Any]) -> pa.Table:
    """A rule's (or KPI's) rows computed on the engine."""
    table = remote.engine.fetch_arrow(f"SELECT * FROM (\n{remote.sql(sql, values)}\n) q")
    remote.movement.rows_back += table.num_rows
    remote.movement.bytes_back += table.nbytes
    return table


def typed_like(cur: duckdb.DuckDBPyConnection, rule_sql: str, rows: str) -> str:
    """A SELECT over the engine's rows (registered here as `rows`) giving each column the type the rule has on
    DuckDB: an engine may type the same value differently (PostgreSQL's NUMERIC keeps the scale of its inputs,
    DuckDB widens it), and the findings' details carry the rule's own types, whichever engine computed them.
    The rule is planned here, never run (LIMIT 0 over the local model)."""
    described = cur.execute(f"SELECT * FROM (\n{rule_sql}\n) q LIMIT 0").description
    cols = ", ".join(f'CAST("{d[0]}" AS {d[1]}) AS "{d[0]}"' for d in described)
    return f"SELECT {cols} FROM {rows}"
