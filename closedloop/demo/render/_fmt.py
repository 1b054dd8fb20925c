"""Vectorised value formatting and record writing shared by the vendor renderers (no per-row Python)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from closedloop.demo.firm.schema import conform
from collectors.base import Stream

DEFAULT_AS_OF = dt.date(2026, 10, 31)


class FirmLike(Protocol):
    """What a renderer needs from a firm: the canonical truth tables and its parameters."""

    tables: dict[str, pl.DataFrame]
    params: dict[str, Any]


def table(firm: FirmLike, name: str) -> pl.DataFrame:
    """A canonical table conformed to schema.sql (missing tables/columns become typed empties/nulls)."""
    return conform(name, firm.tables.get(name))


def as_of_ts(firm: FirmLike) -> dt.datetime:
    """Export time: the firm's as-of date at midnight UTC, the fallback for modification stamps."""
    as_of = (getattr(firm, "params", None) or {}).get("as_of") or DEFAULT_AS_OF
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    return dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC)


def modstamp(default: dt.datetime, *cols: str) -> pl.Expr:
    """A record's last-modified stamp: the latest of its own dates/timestamps, else the export time."""
    parts = [pl.col(c).cast(pl.Datetime("us", "UTC")) for c in cols]
    latest = pl.max_horizontal(parts) if parts else pl.lit(None, pl.Datetime("us", "UTC"))
    return latest.fill_null(pl.lit(default, pl.Datetime("us", "UTC")))


def synthetic_ids(base: int, keys: list[str]) -> pl.Expr:
    """Ids for records the canon does not key (schedule headers, periods): dense rank over their key."""
    return (pl.struct(keys).rank("dense") + base - 1).cast(pl.Int64).cast(pl.String)


# --- JSON fragments --------------------------------------------------------------------------------
def jstr(e: pl.Expr) -> pl.Expr:
    """A JSON string literal of a text expression (escaped by Polars' JSON encoder); null stays null."""
    enc = pl.struct(v=e.cast(pl.String)).struct.json_encode().str.slice(5).str.strip_suffix("}")
    return pl.when(e.is_not_null()).then(enc)


def json_object(pairs: list[tuple[str, pl.Expr]], *, keep_nulls: bool) -> pl.Expr:
    """JSON object text from (key, fragment) pairs; a null fragment is written null or left out."""
    parts = []
    for key, frag in pairs:
        head = pl.lit(f'"{key}":')
        parts.append(head + (frag.fill_null(pl.lit("null")) if keep_nulls else frag))
    if not parts:
        return pl.lit("{}")
    return pl.lit("{") + pl.concat_list(parts).list.drop_nulls().list.join(",") + pl.lit("}")


def json_value(e: pl.Expr, raw_type: str, ts_format: str) -> pl.Expr:
    """A typed JSON fragment: numbers and booleans bare, dates ISO, timestamps in the vendor's format."""
    if raw_type in ("BIGINT", "DOUBLE", "DECIMAL(18,2)", "DECIMAL(18,8)"):
        return e.cast(pl.String)
    if raw_type == "BOOLEAN":
        return pl.when(e).then(pl.lit("true")).when(e.not_()).then(pl.lit("false"))
    if raw_type == "DATE":
        return jstr(e.cast(pl.Date).dt.strftime("%Y-%m-%d"))
    if raw_type == "TIMESTAMPTZ":
        return jstr(e.cast(pl.Datetime("us", "UTC")).dt.strftime(ts_format))
    if raw_type == "JSON":
        return e
    return jstr(e)


def netsuite_value(e: pl.Expr, raw_type: str) -> pl.Expr:
    """SuiteQL's text rendering: everything a string, 'T'/'F', dates M/D/YYYY, timestamps via TO_CHAR."""
    if raw_type == "BOOLEAN":
        return pl.when(e).then(pl.lit("T")).when(e.not_()).then(pl.lit("F"))
    if raw_type == "DATE":
        return e.cast(pl.Date).dt.strftime("%-m/%-d/%Y")
    if raw_type == "TIMESTAMPTZ":
        # the collector selects TO_CHAR(x, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'): M/D/YYYY h:mm am drops seconds
        return e.cast(pl.Datetime("us", "UTC")).dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
    return e.cast(pl.String)


def check_fields(stream: Stream, values: Mapping[str, pl.Expr]) -> None:
    """Renderer and declaration must name the same fields, so files and streams cannot drift apart."""
    declared, rendered = stream.column_names(), list(values)
    if sorted(declared) != sorted(rendered):
        raise AssertionError(
            f"stream {stream.name}: declared-only {sorted(set(declared) - set(rendered))},"
            f" rendered-only {sorted(set(rendered) - set(declared))}"
        )


# --- writers ---------------------------------------------------------------------------------------
def write_lines(frame: pl.DataFrame, expr: pl.Expr, path: Path) -> int:
    """Write one text line per row (JSON lines built as text); returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = frame.select(expr.alias("line"))
    if lines.height == 0:
        path.write_text("")
        return 0
    lines.write_csv(path, include_header=False, quote_style="never")
    return lines.height


def write_suiteql_jsonl(
    frame: pl.DataFrame, stream: Stream, values: Mapping[str, pl.Expr], path: Path
) -> int:
    """SuiteQL items: "links": [] first, values as strings, null columns left out of the item."""
    check_fields(stream, values)
    pairs = [("links", pl.lit("[]"))]
    pairs += [(n, jstr(netsuite_value(values[n], stream.column(n).type))) for n in stream.column_names()]
    return write_lines(frame, json_object(pairs, keep_nulls=False), path)


def write_suiteql_csv(
    frame: pl.DataFrame,
    stream: Stream,
    values: Mapping[str, pl.Expr],
    path: Path,
    rows_per_write: int | None = None,
) -> int:
    """A saved-search / SuiteAnalytics CSV export: SuiteQL column names, the same text values.

    rows_per_write (for row-wise value expressions only) renders and writes that many rows at a time: the text of
    every value of a bulk stream at once is several times the frame (GBs for time entries at tier l).
    """
    check_fields(stream, values)
    exprs = [netsuite_value(values[n], stream.column(n).type).alias(n) for n in stream.column_names()]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not rows_per_write or frame.height <= rows_per_write:
        out = frame.select(exprs)
        out.write_csv(path)
        return out.height
    with path.open("wb") as fh:
        for off in range(0, frame.height, rows_per_write):
            frame.slice(off, rows_per_write).select(exprs).write_csv(fh, include_header=off == 0)
    return frame.height
