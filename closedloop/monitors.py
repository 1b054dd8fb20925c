"""Freshness, volume and schema-drift monitors: is the data the checks are about to judge whole and current?

Monitors observe; they write no findings. Each verdict is a row of results.monitor (checks/observations.py),
stored before the checks run, and the rules Q2C-105, Q2C-106 and Q2C-109 report this run's breaches and
warnings as findings. A breach also fails its source for the run (closedloop/contracts/step.py).

Freshness clock: a source is judged at the evaluation time `min(run start, end of the as_of day, UTC)`, the
same instant the checks call as_of_ts. In production (as_of empty = today) that is the run time; for the demo
or a back-dated run it is the business date, so data generated "as of" a past day is not stale by construction.
The snapshot's own age (last extraction, e.g. a carried source) is always measured against the run start.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from checks.observations import MONITOR_DDL
from closedloop import settings as cfgmod
from closedloop.warehouse import attach_read_only
from collectors.base import LINEAGE_COLUMNS
from collectors.runner import quote

LINEAGE = {c for c, _ in LINEAGE_COLUMNS}


@dataclass
class Observation:
    """One monitor's verdict on a source or stream; status ok | breach | warning | skipped."""

    source: str
    stream: str
    monitor: str
    status: str
    value: float | None = None
    threshold: float | None = None
    unit: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str | None:
        return {"breach": "critical", "warning": "warning"}.get(self.status)


def evaluation_time(cfg: cfgmod.Config, started_at: dt.datetime) -> dt.datetime:
    """The instant freshness is judged at (see the module docstring)."""
    end_of_day = dt.datetime.combine(cfg.as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return min(started_at, end_of_day)


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'raw'"
        " AND table_name = ? ORDER BY column_index",
        [db, table],
    ).fetchall()
    return {c: t for c, t in rows if c not in LINEAGE}


def schema_drift(
    con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, run_id: str, prev: Path | None, streams: list[tuple]
) -> list[Observation]:
    """Fields added, removed or retyped since the last published run, per (source, stream) collected now.

    A column the source stopped sending is put back, empty, into the raw table, so the mapping still binds;
    the source then fails for the run (drift_removed = critical) rather than the whole run failing.
    """
    if prev is None:
        return [
            Observation(s, st, "schema", "skipped", detail={"why": "no published run yet"})
            for s, st in streams
        ]
    out: list[Observation] = []
    attach_read_only(con, prev, "prevdrift")
    try:
        prev_meta = {
            (s, st): ({f for f in (x or "").split(",") if f}, {f for f in (m or "").split(",") if f})
            for s, st, x, m in con.execute(
                "SELECT source, stream, extra_fields, missing_fields FROM prevdrift.meta.source_run WHERE status = 'ok'"
            ).fetchall()
        }
        cur_meta = {
            (s, st): ({f for f in (x or "").split(",") if f}, {f for f in (m or "").split(",") if f})
            for s, st, x, m in con.execute(
                "SELECT source, stream, extra_fields, missing_fields FROM meta.source_run WHERE run_id = ?",
                [run_id],
            ).fetchall()
        }
        for source, stream in streams:
            table = f"{source}__{stream}"
            before = _columns(con, "prevdrift", table)
            if not before:
                out.append(Observation(source, stream, "schema", "skipped", detail={"why": "new stream"}))
                continue
            now = _columns(con, con.execute("SELECT current_database()").fetchone()[0], table)
            p_extra, p_missing = prev_meta.get((source, stream), (set(), set()))
            c_extra, c_missing = cur_meta.get((source, stream), (set(), set()))
            removed = sorted((set(before) - set(now)) | (c_missing - p_missing))
            added = sorted((set(now) - set(before)) | (c_extra - p_extra))
            retyped = {c: f"{before[c]} -> {now[c]}" for c in set(before) & set(now) if before[c] != now[c]}
            for c in set(before) - set(now):
                con.execute(f"ALTER TABLE raw.{table} ADD COLUMN {quote(c)} {before[c]}")
            status = "ok"
            if added or retyped:
                status = "warning"
            if removed:
                status = "breach" if cfg.get("monitors", "drift_removed") == "critical" else "warning"
            detail = {"added": added, "removed": removed, "retyped": retyped}
            out.append(
                Observation(
                    source,
                    stream,
                    "schema",
                    status,
                    float(len(added) + len(removed) + len(retyped)),
                    0.0,
                    "fields",
                    {k: v for k, v in detail.items() if v},
                )
            )
    finally:
        con.execute("DETACH prevdrift")
    return out


def _newest_modified(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, source: str) -> dt.datetime | None:
    """Newest source-side change: canon.snapshot_meta.max_modified_at, else the raw cursor (carried sources)."""
    row = con.execute(
        "SELECT max(max_modified_at) FROM canon.snapshot_meta WHERE source_system = ?", [source]
    ).fetchone()
    if row and row[0]:
        return row[0]
    scfg = cfg.sources[source]
    try:
        streams = cfgmod.source_module(scfg["kind"]).streams(scfg)
    except Exception:  # generic sources without declarations have no cursor
        return None
    best = None
    for s in streams:
        if not s.cursor_field:
            continue
        try:
            v = con.execute(
                f"SELECT max(TRY_CAST({quote(s.cursor_field)} AS TIMESTAMPTZ)) FROM raw.{source}__{s.name}"
            )
            v = v.fetchone()[0]
        except duckdb.Error:
            continue
        best = v if best is None or (v and v > best) else best
    return best


def _snapshot_at(con: duckdb.DuckDBPyConnection, source: str) -> dt.datetime | None:
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'raw'"
            " AND starts_with(table_name, ?)",
            [f"{source}__"],
        ).fetchall()
    ]
    if not tables:
        return None
    union = " UNION ALL ".join(f"SELECT max(_extracted_at) AS t FROM raw.{quote(t)}" for t in tables)
    return con.execute(f"SELECT max(t) FROM ({union})").fetchone()[0]


def freshness(
    con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, sources: list[str], started_at: dt.datetime
) -> list[Observation]:
    """Per source: hours since its newest change (at the evaluation time) and since its snapshot, vs its SLA."""
    at = evaluation_time(cfg, started_at)
    out = []
    for source in sources:
        sla = float(cfg.sources[source].get("freshness_sla_hours") or 0)
        newest, snap = _newest_modified(con, cfg, source), _snapshot_at(con, source)
        lag = (at - newest).total_seconds() / 3600 if newest else None
        age = (started_at - snap).total_seconds() / 3600 if snap else None
        detail = {
            "newest_change": newest.isoformat() if newest else None,
            "snapshot_at": snap.isoformat() if snap else None,
            "evaluated_at": at.isoformat(),
            "change_lag_hours": round(lag, 2) if lag is not None else None,
            "snapshot_age_hours": round(age, 2) if age is not None else None,
        }
        worst = max((v for v in (lag, age) if v is not None), default=None)
        if sla <= 0 or worst is None:
            out.append(Observation(source, "*", "freshness", "skipped", worst, sla or None, "hours", detail))
            continue
        status = "breach" if worst > sla else "ok"
        out.append(Observation(source, "*", "freshness", status, round(worst, 2), sla, "hours", detail))
    return out


def volume(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, run_id: str) -> list[Observation]:
    """Each stream collected now vs the median of its last good runs: a collapse is a partial extract."""
    m = cfg.values["monitors"]
    out = []
    current = con.execute(
        "SELECT source, stream, rows FROM meta.source_run WHERE run_id = ? AND status = 'ok' ORDER BY 1, 2",
        [run_id],
    ).fetchall()
    for source, stream, rows in current:
        hist = [
            r[0]
            for r in con.execute(
                "SELECT rows FROM meta.source_history WHERE source = ? AND stream = ? AND status = 'ok'"
                " AND run_id <> ? ORDER BY extracted_at DESC LIMIT ?",
                [source, stream, run_id, m["volume_window"]],
            ).fetchall()
        ]
        if len(hist) < m["volume_min_history"] or statistics.median(hist) <= 0:
            out.append(
                Observation(
                    source, stream, "volume", "skipped", float(rows), None, "rows", {"history": len(hist)}
                )
            )
            continue
        med = statistics.median(hist)
        ratio = rows / med
        status = "ok"
        if ratio < m["volume_low_ratio"]:
            status = "breach"
        elif ratio > m["volume_high_ratio"]:
            status = "warning"
        out.append(
            Observation(
                source,
                stream,
                "volume",
                status,
                float(rows),
                float(med),
                "rows",
                {"median": med, "ratio": round(ratio, 3), "history": len(hist)},
            )
        )
    return out


def store(con: duckdb.DuckDBPyConnection, run_id: str, observations: list[Observation]) -> None:
    """results.monitor rows: what the rules read, and the Data health page's trends (carried forward)."""
    con.execute(MONITOR_DDL)
    if not observations:
        return
    now = dt.datetime.now(dt.UTC)
    con.executemany(
        "INSERT INTO results.monitor VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            [
                run_id,
                o.source,
                o.stream,
                o.monitor,
                o.status,
                o.severity,
                o.value,
                o.threshold,
                o.unit,
                json.dumps(o.detail, default=str),
                now,
            ]
            for o in observations
        ],
    )
