"""Collect the same exports through the sandbox and from files, and compare what lands in raw and canon."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from closedloop.pipeline import CANON_DIR, MAPPING_ORDER, mapping_sql, run_sql_file
from closedloop.sandbox import Sandbox
from collectors.base import LINEAGE_COLUMNS
from collectors.runner import SourceResult, collect_source

VENDORS = ("salesforce", "netsuite", "ironclad")
EXTRACTED_AT = dt.datetime(2026, 10, 31, 6, 0, tzinfo=dt.UTC)
LINEAGE = {name for name, _ in LINEAGE_COLUMNS}


def api_cfg(sandbox: Sandbox, vendor: str, **overrides: Any) -> dict[str, Any]:
    """The vendor's API source section pointing at the sandbox (bulk NetSuite streams from the exports)."""
    cfg = sandbox.source_config(bulk_path=sandbox.state.exports.root / "netsuite")[vendor]
    return {"kind": vendor, **cfg, **overrides}


def api_collector(sandbox: Sandbox, vendor: str, **overrides: Any):
    env = sandbox.secrets()
    module = importlib.import_module(f"collectors.{vendor}")
    prefix = f"CLOSEDLOOP_{vendor.upper()}_"
    return module.api_collector(api_cfg(sandbox, vendor, **overrides), lambda n: env.get(prefix + n.upper()))


def files_collector(root: Path, source: str):
    module = importlib.import_module(f"collectors.{source}")
    return module.files_collector({"kind": source, "path": str(Path(root) / source)})


def collect(con: duckdb.DuckDBPyConnection, collector, only: set[str] | None = None) -> SourceResult:
    return collect_source(con, collector, run_id="t", extracted_at=EXTRACTED_AT, only_streams=only)


def connect(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path) if path else ":memory:")
    con.execute("SET TimeZone = 'UTC'")
    return con


def raw_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """A raw table's rows minus lineage columns, in a stable order."""
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in LINEAGE]
    sel = ", ".join(f'"{c}"' for c in cols)
    return con.execute(f"SELECT {sel} FROM {table} ORDER BY ALL").fetchall()


def build_canon(
    con: duckdb.DuckDBPyConnection, config: Mapping[str, Mapping[str, Any]] | None = None
) -> None:
    """Map every source's raw tables into canon and resolve, as the pipeline does."""
    run_sql_file(con, CANON_DIR / "schema.sql")
    for source in MAPPING_ORDER:
        found = mapping_sql(source, {"kind": source, **(config or {}).get(source, {})})
        if found:
            run_sql_file(con, *found)
    run_sql_file(con, CANON_DIR / "resolve.sql")


def canon_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    tables = [
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'canon'").fetchall()
    ]
    out = {}
    for t in sorted(tables):
        cols = [r[0] for r in con.execute(f"DESCRIBE canon.{t}").fetchall() if r[0] != "snapshot_ts"]
        sel = ", ".join(f'"{c}"' for c in cols)
        out[t] = con.execute(f"SELECT {sel} FROM canon.{t} ORDER BY ALL").fetchall()
    return out
