"""One runner for every collector: batches into Arrow, casts to declared types, adds lineage, writes raw."""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from closedloop.redact import redact
from collectors.base import (
    LINEAGE_COLUMNS,
    Batch,
    Collector,
    CollectorError,
    Column,
    Stream,
    StreamAbsent,
    StreamState,
)

log = logging.getLogger(__name__)

_TRUE = "('T','TRUE','1','Y','YES')"
_FALSE = "('F','FALSE','0','N','NO')"


STREAM_STATUSES = ("ok", "absent", "failed")


@dataclass
class StreamResult:
    """What one stream's collection produced, for run metadata and the data-health page.

    status: ok (written whole), absent (the source has no such table/object/file or may not read it:
    an empty raw table, absent_reason says why, the source stays ok) or failed (error says why).
    """

    stream: str
    table: str
    rows: int = 0
    files: int = 0
    seconds: float = 0.0
    error: str | None = None
    extra_fields: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)  # declared columns the source lacks: NULL
    # the part of missing_fields the source itself proved: the vendor refused the field, or a file's header
    # lacks it. A JSON key absent from every record is not proof (NetSuite leaves out null columns), and
    # coverage (closedloop/lineage.py) only calls a canonical column absent on proof.
    absent_fields: list[str] = field(default_factory=list)
    duplicates: int = 0
    status: str = "ok"
    absent_reason: str | None = None
    config_error: bool = False  # failed on a name the config sets that the source lacks: exit 2, not 1

    def __post_init__(self) -> None:
        if self.error and self.status == "ok":  # built with only an error (a source that cannot start)
            self.status = "failed"


@dataclass
class SourceResult:
    """A source's outcome: ok only when every stream was written whole."""

    source: str
    status: str = "ok"
    streams: list[StreamResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.streams)

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.streams if s.error]


def raw_table(source: str, stream: str) -> str:
    """The raw table name of a stream: one name for one thing, source key first."""
    return f"raw.{source}__{stream}"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cast_expr(col: str, typ: str) -> str:
    """SQL turning a vendor string into its declared type; NULL where it cannot (checked separately)."""
    c = f"nullif(trim({quote(col)}), '')"
    if typ == "VARCHAR":
        return quote(col)
    if typ == "BOOLEAN":
        return f"CASE WHEN upper({c}) IN {_TRUE} THEN true WHEN upper({c}) IN {_FALSE} THEN false END"
    if typ == "DATE":
        # ISO first; NetSuite renders dates in the user's preference, commonly M/D/YYYY
        return (
            f"coalesce(TRY_CAST({c} AS DATE), TRY_CAST(try_strptime({c}, '%m/%d/%Y') AS DATE),"
            f" TRY_CAST(TRY_CAST({c} AS TIMESTAMPTZ) AS DATE))"
        )
    if typ == "TIMESTAMPTZ":
        # Salesforce: 2024-05-31T14:03:12.000+0000; NetSuite: 5/31/2024 2:03 pm
        return (
            f"coalesce(TRY_CAST({c} AS TIMESTAMPTZ), TRY_CAST(try_strptime({c}, '%m/%d/%Y %I:%M:%S %p') AS TIMESTAMPTZ),"
            f" TRY_CAST(try_strptime({c}, '%m/%d/%Y %I:%M %p') AS TIMESTAMPTZ),"
            f" TRY_CAST(try_strptime({c}, '%Y-%m-%dT%H:%M:%S.%g%z') AS TIMESTAMPTZ))"
        )
    if typ == "JSON":
        return f"CASE WHEN json_valid({c}) THEN CAST({c} AS JSON) END"
    return f"TRY_CAST(replace({c}, ',', '') AS {typ})"


def _bad_value(c: Column) -> str:
    """SQL true where a column's value is required but empty, or present but not castable to its type."""
    bad_null = f"nullif(trim({quote(c.name)}), '') IS NULL" if c.required else "false"
    if c.type == "VARCHAR":
        return bad_null
    return f"({bad_null} OR (nullif(trim({quote(c.name)}), '') IS NOT NULL AND ({_cast_expr(c.name, c.type)}) IS NULL))"


def _to_text(value: Any) -> str | None:
    """Stringify a record value losslessly so every batch takes the same casting path."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, decimal.Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return str(value)


def _records_to_arrow(
    records: list[Mapping[str, Any]], names: list[str], first_row: int
) -> tuple[pa.Table, set]:
    extra: set[str] = set()
    cols: dict[str, list[str | None]] = {n: [] for n in names}
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise CollectorError(f"record is a {type(rec).__name__}, not an object", row=first_row + i)
        for n in names:
            cols[n].append(_to_text(rec.get(n)))
        extra.update(k for k in rec if k not in cols)
    arrays = {n: pa.array(v, type=pa.string()) for n, v in cols.items()}
    arrays["_row"] = pa.array(range(first_row, first_row + len(records)), type=pa.int64())
    return pa.table(arrays), extra


def _arrow_to_text(table: pa.Table, names: list[str], first_row: int) -> tuple[pa.Table, set, set]:
    present = set(table.column_names)
    extra = present - set(names)
    missing = {n for n in names if n not in present}
    arrays = {}
    for n in names:
        if n in present:
            col = table.column(n)
            arrays[n] = col if pa.types.is_string(col.type) else col.cast(pa.string())
        else:
            arrays[n] = pa.nulls(table.num_rows, type=pa.string())
    arrays["_row"] = pa.array(range(first_row, first_row + table.num_rows), type=pa.int64())
    return pa.table(arrays), extra, missing


def create_raw_table(
    con: duckdb.DuckDBPyConnection, source: str, stream: Stream, table: str | None = None
) -> str:
    """(Re)create the stream's raw table in this run's warehouse: a run always starts from nothing."""
    table = table or raw_table(source, stream.name)
    cols = [f"{quote(c.name)} {c.type}" for c in stream.columns]
    cols += [f"{n} {t}" for n, t in LINEAGE_COLUMNS]
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(f"CREATE OR REPLACE TABLE {table} ({', '.join(cols)})")
    return table


def write_batch(
    con: duckdb.DuckDBPyConnection,
    source: str,
    stream: Stream,
    batch: Batch,
    *,
    run_id: str,
    extracted_at: dt.datetime,
    table: str | None = None,
) -> tuple[int, set, set]:
    """Cast one batch and append it; a value that cannot be cast fails the batch, naming file and row."""
    names = stream.column_names()
    if isinstance(batch.records, pa.Table):
        text, extra, missing = _arrow_to_text(batch.records, names, batch.first_row)
    else:
        text, extra = _records_to_arrow(batch.records, names, batch.first_row)
        missing = {n for n in names if batch.records and all(n not in r for r in batch.records)}
    required_missing = sorted(c.name for c in stream.columns if c.required and c.name in missing)
    if required_missing:
        have = sorted(extra | (set(names) - missing))
        close = sorted(
            {m for r in required_missing for m in difflib.get_close_matches(r, have, n=3, cutoff=0.5)}
        )
        hint = f"; closest names the file has: {', '.join(close)}" if close else ""
        raise CollectorError(
            f"required column(s) {', '.join(required_missing)} absent{hint}", file=batch.source_file
        )
    if text.num_rows == 0:
        return 0, extra, missing
    # The relational API, not con.register: inside the stream's transaction DuckDB keeps every registered
    # Arrow table alive until COMMIT, so a 20M-row stream held all its batches in memory (15 GB at tier l).
    rel = con.from_arrow(text)
    # one scan for every column's first bad row (a query per column per page was the hot spot)
    checked = [c for c in stream.columns if c.required or c.type != "VARCHAR"]
    firsts = (
        rel.aggregate(", ".join(f"min(CASE WHEN {_bad_value(c)} THEN _row END)" for c in checked)).fetchone()
        if checked
        else ()
    )
    for c, first in zip(checked, firsts, strict=True):  # declared order: the first bad column is named
        if first is None:
            continue
        value = rel.filter(f"_row = {int(first)}").select(quote(c.name)).fetchone()[0]
        shown = value if value is None else repr(value[:80])
        what = "is empty but required" if value in (None, "") else f"value {shown} is not a valid {c.type}"
        raise CollectorError(f"column {c.name!r}: {what}", file=batch.source_file, row=first)
    lineage = {
        "_run_id": run_id,
        "_source": source,
        "_stream": stream.name,
        "_extracted_at": extracted_at,
        "_source_file": batch.source_file,
    }
    rel.select(
        *(duckdb.SQLExpression(_cast_expr(c.name, c.type)).alias(c.name) for c in stream.columns),
        *(duckdb.ConstantExpression(v).cast(dict(LINEAGE_COLUMNS)[k]).alias(k) for k, v in lineage.items()),
        duckdb.ColumnExpression("_row").alias("_source_row"),
    ).insert_into(table or raw_table(source, stream.name))
    return text.num_rows, extra, missing


def collect_source(
    con: duckdb.DuckDBPyConnection,
    collector: Collector,
    *,
    run_id: str,
    extracted_at: dt.datetime,
    only_streams: set[str] | None = None,
    states: dict[str, StreamState] | None = None,
    merge_streams: set[str] | None = None,
) -> SourceResult:
    """Collect every stream of a source; a failing stream is rolled back and recorded, the rest go on.

    Streams in `merge_streams` already hold the last snapshot (copied by the pipeline): what the source
    returns since the cursor replaces the rows with the same primary key (an incremental pull).
    """
    result = SourceResult(source=collector.source)
    started = time.perf_counter()
    try:
        streams = collector.streams()
    except Exception as exc:  # a source that cannot even list its streams fails alone
        result.status = "failed"
        result.streams.append(
            StreamResult(stream="*", table="", error=_describe(exc, collector.source, None))
        )
        return result
    for stream in streams:
        if only_streams and stream.name not in only_streams:
            continue
        sr = StreamResult(stream=stream.name, table=raw_table(collector.source, stream.name))
        t0 = time.perf_counter()
        files: set[str] = set()
        merge = bool(merge_streams and stream.name in merge_streams and stream.primary_key)
        target = raw_table(collector.source, stream.name)
        into = f"{target}__delta" if merge else target
        con.execute("BEGIN")
        try:
            create_raw_table(con, collector.source, stream, into)
            state = states.setdefault(stream.name, StreamState()) if states is not None else StreamState()
            extra_all: set[str] = set()
            for batch in collector.read(stream, state):
                n, extra, missing = write_batch(
                    con, collector.source, stream, batch, run_id=run_id, extracted_at=extracted_at, table=into
                )
                sr.rows += n
                extra_all |= extra
                missing = (missing if n else set()) | set(batch.missing_fields)
                sr.missing_fields = sorted(set(sr.missing_fields) | missing)
                proven = set(batch.missing_fields) | (
                    missing if isinstance(batch.records, pa.Table) else set()
                )
                sr.absent_fields = sorted(set(sr.absent_fields) | proven)
                if batch.source_file:
                    files.add(batch.source_file)
            sr.extra_fields = sorted(extra_all - {"attributes", "links", "_row"})
            sr.duplicates = _drop_exact_duplicates(con, into, stream)
            sr.rows -= sr.duplicates
            if merge:
                _merge_delta(con, target, into, stream.primary_key)
                sr.rows = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            con.execute("COMMIT")
        # the estate lacks it: an empty table so mappings bind, and the source stays ok
        except StreamAbsent as exc:
            con.execute("ROLLBACK")
            sr.status, sr.rows, sr.missing_fields = "absent", 0, []
            sr.absent_reason = exc.detail
            log.info("stream absent: %s.%s: %s", collector.source, stream.name, exc.detail)
            create_raw_table(con, collector.source, stream)
        except Exception as exc:
            con.execute("ROLLBACK")
            sr.status = "failed"
            sr.error = _describe(exc, collector.source, stream.name)
            sr.rows = 0
            result.status = "failed"
            log.warning("collect failed: %s", sr.error)
            if not merge:  # keep an empty table so mappings still bind; the run is partial, not published
                create_raw_table(con, collector.source, stream)
        sr.files = len(files)
        sr.seconds = round(time.perf_counter() - t0, 3)
        result.streams.append(sr)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _drop_exact_duplicates(con: duckdb.DuckDBPyConnection, table: str, stream: Stream) -> int:
    """Drop records repeated verbatim (a paging artifact, e.g. offset pages that shift under a writer).

    Same key with different content is a real conflict and stays, for the data contracts to catch.
    """
    if not stream.primary_key:
        return 0
    key = ", ".join(quote(k) for k in stream.primary_key)
    dup = con.execute(f"SELECT count(*) - count(DISTINCT ({key})) FROM {table}").fetchone()[0]
    if not dup:
        return 0
    cols = ", ".join(f"CAST({quote(c.name)} AS VARCHAR)" for c in stream.columns)
    before = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.execute(
        f"DELETE FROM {table} WHERE rowid IN (SELECT rid FROM (SELECT rowid AS rid, row_number() OVER"
        f" (PARTITION BY {cols} ORDER BY _source_file, _source_row) AS rn FROM {table}) WHERE rn > 1)"
    )
    return before - con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _merge_delta(con: duckdb.DuckDBPyConnection, target: str, delta: str, key: tuple[str, ...]) -> None:
    """Upsert the incremental pull into the carried snapshot by primary key (latest record wins)."""
    match = " AND ".join(f"t.{quote(k)} = d.{quote(k)}" for k in key)
    con.execute(f"DELETE FROM {target} t WHERE EXISTS (SELECT 1 FROM {delta} d WHERE {match})")
    con.execute(f"INSERT INTO {target} SELECT * FROM {delta}")
    con.execute(f"DROP TABLE {delta}")


def _describe(exc: Exception, source: str, stream: str | None) -> str:
    """A one-line error naming source, stream, file and row; never the request URL or its secrets."""
    if isinstance(exc, CollectorError):
        exc.source = exc.source or source
        exc.stream = exc.stream or stream
        return redact(
            str(CollectorError(exc.detail, source=exc.source, stream=exc.stream, file=exc.file, row=exc.row))
        )
    return redact(str(CollectorError(f"{type(exc).__name__}: {exc}", source=source, stream=stream)))
