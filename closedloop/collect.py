"""Collecting a run's sources: build each collector, carry what is not collected, incremental state."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from closedloop import settings as cfgmod
from closedloop.redact import redact
from closedloop.warehouse import attach_read_only, utcnow
from collectors.base import Collector, CollectorError, StreamState
from collectors.runner import SourceResult, StreamResult, create_raw_table


def build_collector(key: str, scfg: dict) -> Collector:
    """The collector for a configured source, by its kind and transport."""
    module = cfgmod.source_module(scfg["kind"])
    if scfg["transport"] == "api":
        factory = getattr(module, "api_collector", None)
        if factory is None:
            raise CollectorError(f"source kind {scfg['kind']!r} has no API transport", source=key)
        collector = factory(scfg, lambda name: cfgmod.secret(key, name))
    else:
        collector = module.files_collector(scfg)
    collector.source = key
    return collector


def record_sources(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    cfg: cfgmod.Config,
    results: list[SourceResult],
    extracted_at: dt.datetime,
) -> None:
    for res in results:
        scfg = cfg.sources[res.source]
        system = getattr(cfgmod.source_module(scfg["kind"]), "SYSTEM", "")
        for st in res.streams:
            con.execute(
                "INSERT INTO meta.source_run VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    run_id,
                    res.source,
                    system,
                    scfg["transport"],
                    st.stream,
                    st.table,
                    _status(st),
                    st.rows,
                    st.files,
                    st.seconds,
                    extracted_at,
                    redact(st.error),
                    ",".join(st.extra_fields),
                    ",".join(st.missing_fields),
                    redact(st.absent_reason),  # why the estate lacks it (the vendor's words), when absent
                ],
            )
            con.execute(
                "INSERT INTO meta.source_history VALUES (?,?,?,?,?,?,?,?)",
                [
                    run_id,
                    res.source,
                    st.stream,
                    _status(st),
                    st.rows,
                    st.seconds,
                    extracted_at,
                    redact(st.error),
                ],
            )


def _status(st: StreamResult) -> str:
    """ok | absent | failed; 'absent' is stored as such so data health and coverage can show it."""
    return "failed" if st.error else st.status


def incremental_base(con, prev: Path | None, key: str, scfg: dict, collector: Collector):
    """For an incremental source: the last snapshot of each cursor stream and the cursor it was read to."""
    states: dict[str, StreamState] = {}
    merge: set[str] = set()
    if not scfg.get("incremental") or prev is None:
        return states, merge
    attach_read_only(con, prev, "previnc")
    try:
        saved = dict(
            con.execute(
                "SELECT stream, cursor FROM previnc.meta.stream_state WHERE source = ?", [key]
            ).fetchall()
        )
        tables = {
            t
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'previnc' AND schema_name = 'raw'"
            ).fetchall()
        }
        for stream in collector.streams():
            name = f"{key}__{stream.name}"
            if stream.cursor_field and stream.primary_key and saved.get(stream.name) and name in tables:
                con.execute(f"CREATE OR REPLACE TABLE raw.{name} AS SELECT * FROM previnc.raw.{name}")
                states[stream.name] = StreamState(cursor=saved[stream.name])
                merge.add(stream.name)
    finally:
        con.execute("DETACH previnc")
    return states, merge


def save_states(con, run_id: str, key: str, states: dict[str, StreamState], res: SourceResult) -> None:
    """Remember how far each stream was read, for the next incremental pull (only streams read whole)."""
    ok = {s.stream for s in res.streams if s.status == "ok"}
    for stream, state in states.items():
        if stream in ok and state.cursor:
            con.execute("DELETE FROM meta.stream_state WHERE source = ? AND stream = ?", [key, stream])
            con.execute(
                "INSERT INTO meta.stream_state VALUES (?, ?, ?, ?, ?)",
                [key, stream, state.cursor, run_id, utcnow()],
            )


def carry_raw(
    con: duckdb.DuckDBPyConnection, run_id: str, prev: Path | None, keys: list[str]
) -> list[SourceResult]:
    """Sources not collected this time keep their last good raw tables (collect SOURCE refreshes one).

    Their meta.source_run rows come along marked 'carried' with the original extraction time, so
    freshness still sees how old the data is and the next partial collect carries them again.
    """
    if prev is None or not keys:
        return []
    attach_read_only(con, prev, "prevraw")
    carried = []
    try:
        # an absent stream is carried as absent: its empty table keeps the mappings bound
        # runs before absent streams existed have no absent_reason column
        why = (
            "absent_reason"
            if con.execute(
                "SELECT count(*) FROM duckdb_columns() WHERE database_name = 'prevraw'"
                " AND table_name = 'source_run' AND column_name = 'absent_reason'"
            ).fetchone()[0]
            else "NULL"
        )
        rows = con.execute(
            f"SELECT source, stream, raw_table, rows, status, {why} FROM prevraw.meta.source_run"
            " WHERE status IN ('ok', 'carried', 'absent') AND source IN (SELECT unnest(?))",
            [keys],
        ).fetchall()
        for key in keys:
            res = SourceResult(source=key, status="carried")
            for source, stream, table, n, status, why in rows:
                if source == key:
                    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM prevraw.{table}")
                    absent = status == "absent"
                    res.streams.append(
                        StreamResult(
                            stream=stream,
                            table=table,
                            rows=n,
                            status="absent" if absent else "ok",
                            absent_reason=why if absent else None,
                        )
                    )
            carried.append(res)
        con.execute(
            "INSERT INTO meta.source_run BY NAME SELECT * REPLACE (? AS run_id,"
            " CASE WHEN status = 'absent' THEN 'absent' ELSE 'carried' END AS status)"
            " FROM prevraw.meta.source_run WHERE status IN ('ok', 'carried', 'absent')"
            " AND source IN (SELECT unnest(?))",
            [run_id, keys],
        )
    finally:
        con.execute("DETACH prevraw")
    return carried


def declare_empty_streams(con: duckdb.DuckDBPyConnection, key: str, scfg: dict) -> None:
    """A failed source still gets an empty raw table per declared stream, so the mappings bind and the
    other sources' canonical rows are built (the run is partial, never published on its own)."""
    try:
        streams = cfgmod.source_module(scfg["kind"]).streams(scfg)
    except Exception:  # a generic source whose files are gone cannot even name its streams
        return
    have = {
        t
        for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()
    }
    for stream in streams:
        if f"{key}__{stream.name}" not in have:
            create_raw_table(con, key, stream)
