"""The check step on another engine: move the canonical model there, build the helpers there, run each rule
there, and bring only its rows back into the run's DuckDB file (where findings, cases and the lifecycle are
computed exactly as for a DuckDB run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from checks.loader import VIEWS_DIR
from checks.transpile import transpile

# Tables outside canon.* that rules and KPIs read (results.monitor: the run's monitor verdicts).
EXTRA_TABLES = ("results.monitor",)


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


def model_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The run's canonical tables plus the result tables rules read, as schema.table."""
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND (schema_name = 'canon' OR "
        "schema_name || '.' || table_name IN (SELECT unnest(?::VARCHAR[]))) ORDER BY 1",
        [list(EXTRA_TABLES)],
    ).fetchall()
    return [r[0] for r in rows]


def push_model(con: duckdb.DuckDBPyConnection, engine: Any, movement: Movement) -> None:
    """Copy canon.* (and the result tables rules read) to the engine, replacing what a previous run left."""
    started = time.perf_counter()
    for schema in ("canon", "results", "chk"):
        engine.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for name in model_tables(con):
        table = con.execute(f"SELECT * FROM {name}").to_arrow_table()
        movement.bytes_out += engine.create_table(name, table)
        movement.rows_out += table.num_rows
        movement.per_table[name] = table.num_rows
        movement.tables += 1
    movement.seconds_out += time.perf_counter() - started


RESULT_TABLES = ("results.finding", "results.finding_history")


def push_results(con: duckdb.DuckDBPyConnection, engine: Any, movement: Movement) -> None:
    """The findings and their history (KPIs K02/K04/K08 read them) to the engine, after the checks."""
    started = time.perf_counter()
    for name in RESULT_TABLES:
        table = con.execute(f"SELECT * FROM {name}").to_arrow_table()
        movement.bytes_out += engine.create_table(name, table)
        movement.rows_out += table.num_rows
        movement.tables += 1
    movement.seconds_out += time.perf_counter() - started


def create_remote_views(engine: Any, ctx: dict[str, Any], movement: Movement) -> None:
    """The chk.* helpers on the engine, from the same view files ("-- materialize" = a table there too)."""
    for path in sorted(VIEWS_DIR.glob("*.sql")):
        name = path.stem.split("_", 1)[1]
        body = path.read_text().strip().rstrip(";")
        kind = "TABLE" if body.startswith("-- materialize") else "VIEW"
        started = time.perf_counter()
        sql = transpile(body, ctx, engine.dialect)
        movement.transpile_seconds += time.perf_counter() - started
        engine.execute(f"DROP TABLE IF EXISTS chk.{name} CASCADE") if kind == "TABLE" else None
        engine.execute(f"DROP VIEW IF EXISTS chk.{name} CASCADE") if kind == "VIEW" else None
        try:
            engine.execute(f"CREATE {kind} chk.{name} AS\n{sql}")
        except Exception as exc:
            raise RuntimeError(f"{path}: view chk.{name} does not build on {engine.kind}: {exc}") from exc


def fetch_rows(engine: Any, sql: str, values: dict[str, Any], movement: Movement) -> pa.Table:
    """A rule's (or KPI's) rows computed on the engine."""
    started = time.perf_counter()
    text = transpile(sql, values, engine.dialect)
    movement.transpile_seconds += time.perf_counter() - started
    table = engine.fetch_arrow(f"SELECT * FROM (\n{text}\n) q")
    movement.rows_back += table.num_rows
    movement.bytes_back += table.nbytes
    return table


def typed_like(cur: duckdb.DuckDBPyConnection, rule_sql: str, rows: str) -> str:
    """A SELECT over the engine's rows (registered here as `rows`) giving each column the type the rule has on
    DuckDB: an engine may type the same value differently (PostgreSQL's NUMERIC keeps the scale of its inputs,
    DuckDB widens it), and the findings' details carry the rule's own types, whichever engine computed them.
    The rule is planned here, never run (LIMIT 0 over the local model)."""
    described = cur.execute(f"SELECT * FROM (\n{rule_sql}\n) q LIMIT 0").description
    cols = ", ".join(f'CAST("{d[0]}" AS {d[1]}) AS "{d[0]}"' for d in described)
    return f"SELECT {cols} FROM {rows}"
