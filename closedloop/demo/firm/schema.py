"""Canonical table shapes read from closedloop/canon/schema.sql, so the generator cannot drift from the DDL."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polars as pl

from .frames import only

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


def _cast(c: str, src: pl.DataType, dt: pl.DataType) -> pl.Expr:
    e = pl.col(c)
    if isinstance(dt, pl.Decimal):
        if src.is_integer():  # internal convention: integers are scaled by 10**scale
            unit = pl.lit(pl.Series([10 ** (-dt.scale)], dtype=pl.Decimal(38, dt.scale)))
            return (e.cast(pl.Decimal(38, 0)) * unit).cast(dt)
        return e.cast(dt)
    if dt == pl.Date and src.is_integer():
        return e.cast(pl.Int32).cast(pl.Date)
    if isinstance(dt, pl.Datetime):
        if src.is_integer():  # epoch seconds
            return (e.cast(pl.Int64) * 1_000_000).cast(pl.Datetime("us", "UTC"))
        if isinstance(src, pl.Datetime) and src.time_zone is None:
            return e.dt.replace_time_zone("UTC").cast(dt)
    return e.cast(dt)


def conform(table: str, df: pl.DataFrame | None) -> pl.DataFrame:
    """Select and cast to the canonical columns; missing columns become typed nulls, '_' helpers drop."""
    return conform_taking(table, {table: df})


def conform_taking(table: str, tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """conform() of tables.pop(table), one column at a time, each source column let go once it is converted.

    Held nowhere else, a working table is thus released as its canonical copy is built (both whole are GBs at
    tier l). Columns go through expressions, so a constant column stays a constant, not a string per row.
    """
    cols = canon_schema()[table]
    df = tables.pop(table, None)
    if df is None or (df.height == 0 and not df.columns):
        return empty(table)
    if any(c in cols for c in df.columns):
        df = df.drop([c for c in df.columns if c not in cols])
    height, parts = df.height, []
    for c, dt in cols.items():
        if c in df.columns:
            parts.append(only(df, c).select(_cast(c, df.schema[c], dt)))
            df = df.drop(c)
        else:
            parts.append(pl.DataFrame({c: pl.Series(c, [None] * height, dtype=dt)}))
    return pl.concat(parts, how="horizontal")
