"""Render a firm, collect the exports with the files transport, map to canon and resolve: the round trip."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from closedloop.demo.exports import render_exports
from closedloop.demo.firm.schema import canon_schema, conform
from closedloop.pipeline import CANON_DIR, MAPPING_ORDER, mapping_sql, run_sql_file
from collectors.runner import collect_source

EXTRACTED_AT = dt.datetime(2026, 10, 31, 6, 0, tzinfo=dt.UTC)


def round_trip(
    firm: Any, tmp: Path, config: Mapping[str, Mapping[str, Any]] | None = None
) -> duckdb.DuckDBPyConnection:
    """Exports -> raw.* (runner) -> canon.* (mapping.sql, resolve.sql) in a fresh DuckDB under tmp."""
    config = config or {}
    render_exports(firm, tmp / "exports", config)
    con = duckdb.connect(str(tmp / "run.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    for source in MAPPING_ORDER:
        scfg = {"kind": source, "path": str(tmp / "exports" / source), **config.get(source, {})}
        module = importlib.import_module(f"collectors.{source}")
        result = collect_source(con, module.files_collector(scfg), run_id="t", extracted_at=EXTRACTED_AT)
        assert result.status == "ok", result.errors
    run_sql_file(con, CANON_DIR / "schema.sql")
    for source in MAPPING_ORDER:
        found = mapping_sql(source, {"kind": source, **config.get(source, {})})
        assert found is not None
        run_sql_file(con, *found)
    run_sql_file(con, CANON_DIR / "resolve.sql")
    return con


def canon_frame(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """A canonical table as Polars (Decimal stays Decimal), snapshot_ts dropped, rows in a stable order."""
    df = con.sql(f"SELECT * FROM canon.{table}").pl()
    return stable(conform(table, df.drop("snapshot_ts", strict=False)))


def stable(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(df.columns, nulls_last=True)


def snapshot_ts_set(con: duckdb.DuckDBPyConnection) -> bool:
    """Every canonical row that has snapshot_ts carries the extraction time."""
    for table in canon_schema():
        cols = [r[0] for r in con.execute(f"DESCRIBE canon.{table}").fetchall()]
        if "snapshot_ts" in cols:
            bad = con.execute(f"SELECT count(*) FROM canon.{table} WHERE snapshot_ts IS NULL").fetchone()[0]
            if bad:
                return False
    return True
