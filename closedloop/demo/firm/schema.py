"""Canonical table shapes read from closedloop/canon/schema.sql, so the generator cannot drift from the DDL."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polars as pl

SCHEMA_SQL = Path(__file__).resolve().parents[2] / "canon" / "schema.sql"
_TABLE_RE = re.compile(r"CREATE TABLE canon\.(\w+)\((.*?)\);", re.S)


def _dtype(sql_type: str) -> pl.DataType:
    t = sql_type.upper()
    if t.startswith("DECIMAL"):
        p, s = (int(x) for x in re.findall(r"\d+", t))
        return pl.Decimal(p, s)
    return {
        "VARCHAR": pl.String(),
        "BOOLEAN": pl.Boolean(),
        "INTEGER": pl.Int32(),
        "BIGINT": pl.Int64(),
        "DOUBLE": pl.Float64(),
        "DATE": pl.Date(),
        "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
    }[t]


@cache
def canon_schema() -> dict[str, dict[str, pl.DataType]]:
    """Table -> ordered {column: polars dtype}, snapshot_ts excluded (the pipeline stamps it)."""
    out: dict[str, dict[str, pl.DataType]] = {}
    for name, body in _TABLE_RE.findall(SCHEMA_SQL.read_text()):
        cols = {}
        for part in re.split(r",(?![^()]*\))", body):
            col, typ = part.strip().split(None, 1)
            if col != "snapshot_ts":
                cols[col] = _dtype(re.sub(r"\s+", "", typ) if "(" in typ else typ.strip())
        out[name] = cols
    return out


def empty(table: str) -> pl.DataFrame:
    """An empty frame with the table's exact schema."""
    return pl.DataFrame(schema=canon_schema()[table])


def _cast(s: pl.Series, dt: pl.DataType) -> pl.Series:
    if isinstance(dt, pl.Decimal):
        if s.dtype.is_integer():  # internal convention: integers are scaled by 10**scale
            scaled = s.cast(pl.Decimal(38, 0)) * pl.Series(
                [10 ** (-dt.scale)], dtype=pl.Decimal(38, dt.scale)
            )
            return scaled.cast(dt)
        return s.cast(dt)
    if dt == pl.Date and s.dtype.is_integer():
        return s.cast(pl.Int32).cast(pl.Date)
    if isinstance(dt, pl.Datetime):
        if s.dtype.is_integer():  # epoch seconds
            return (s.cast(pl.Int64) * 1_000_000).cast(pl.Datetime("us", "UTC"))
        if isinstance(s.dtype, pl.Datetime) and s.dtype.time_zone is None:
            return s.dt.replace_time_zone("UTC").cast(dt)
    return s.cast(dt)


def conform(table: str, df: pl.DataFrame | None) -> pl.DataFrame:
    """Select and cast to the canonical columns; missing columns become typed nulls, '_' helpers drop."""
    cols = canon_schema()[table]
    if df is None or (df.height == 0 and not df.columns):
        return empty(table)
    out = {}
    for c, dt in cols.items():
        out[c] = _cast(df[c], dt) if c in df.columns else pl.Series(c, [None] * df.height, dtype=dt)
    return pl.DataFrame(out)
