"""A run: collect every source into a new warehouse file, map to canon, check, then publish if whole."""

from __future__ import annotations

import datetime as dt
import logging
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from closedloop import settings as cfgmod
from closedloop.ops import OpsStore
from closedloop.runlock import RunLock
from closedloop.warehouse import Warehouse, new_run_id, utcnow
from collectors.base import Collector, CollectorError, StreamState
from collectors.runner import SourceResult, StreamResult, collect_source, raw_table

log = logging.getLogger(__name__)

CANON_DIR = Path(__file__).parent / "canon"
# CRM owns accounts, CLM owns executed terms, ERP owns financial masters: mapped in that order.
MAPPING_ORDER = ("reference", "salesforce", "ironclad", "netsuite", "middleware")

Progress = Callable[[str], None]


class PipelineError(Exception):
    """A step of the run failed; the message names the step and what broke."""


@dataclass
class RunReport:
    """What a run did, for the CLI (`--json`), the run ledger and tests."""

    run_id: str
    status: str = "running"  # ok | partial | failed
    trigger: str = "cli"
    published: bool = False
    warehouse_file: str = ""
    sources: list[SourceResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    canon_rows: dict[str, int] = field(default_factory=dict)
    checks: dict | None = None
    trust: dict | None = None  # contracts and monitors (closedloop/contracts/step.py)
    alerts: dict | None = None

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sources)

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "published": self.published,
            "warehouse_file": self.warehouse_file,
            "seconds": self.seconds,
            "rows": self.rows,
            "errors": self.errors,
            "sources": {
                s.source: {
                    "status": s.status,
                    "rows": s.rows,
                    "seconds": s.seconds,
                    "streams": {st.stream: {"rows": st.rows, "error": st.error} for st in s.streams},
                }
                for s in self.sources
            },
            "canon_rows": self.canon_rows,
            "checks": self.checks,
            "trust": self.trust,
            "alerts": self.alerts,
        }


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


def mapping_sql(key: str, scfg: dict) -> tuple[Path, str] | None:
    """The source's raw → canon SQL with its ${placeholders} filled from config; None if it has none."""
    module = cfgmod.source_module(scfg["kind"])
    path = getattr(module, "MAPPING", None)
    if callable(path):
        path = path(scfg)
    if not path:
        return None
    path = Path(path)
    params = dict(module.mapping_params(scfg)) if hasattr(module, "mapping_params") else {}
    params.setdefault("source", key)
    text = string.Template(path.read_text(encoding="utf-8")).safe_substitute(params)
    left = sorted(set(re.findall(r"\$\{(\w+)\}", text)))
    if left:
        raise PipelineError(f"{path}: no value for placeholder(s) {', '.join(left)} (source {key})")
    return path, text


def split_statements(sql: str) -> list[tuple[int, str]]:
    """Statements of a SQL file with their starting line, so an error can name the line.

    Semicolons inside quoted strings, quoted identifiers, -- comments and /* */ comments do not split.
    """
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    line, start, i, n = 1, 1, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            j = i + 1
            while j < n and not (sql[j] == ch and (j + 1 >= n or sql[j + 1] != ch)):
                j += 2 if sql[j] == ch else 1
            chunk = sql[i : j + 1]
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            chunk = sql[i : (j if j >= 0 else n)]
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            chunk = sql[i : (j + 2 if j >= 0 else n)]
        else:
            chunk = ch
        if not buf and not chunk.strip():
            line += chunk.count("\n")
            start = line
            i += len(chunk)
            continue
        buf.append(chunk)
        line += chunk.count("\n")
        i += len(chunk)
        if chunk == ";":
            stmt = "".join(buf).strip()
            if _has_code(stmt):
                out.append((start, stmt))
            buf, start = [], line
    tail = "".join(buf).strip()
    if _has_code(tail):
        out.append((start, tail))
    return out


def _has_code(stmt: str) -> bool:
    """False for a chunk that is only comments and semicolons."""
    text = re.sub(r"/\*.*?\*/", "", stmt, flags=re.S)
    return any(ln.split("--", 1)[0].strip(" ;\t") for ln in text.splitlines())


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, text: str | None = None) -> None:
    text = path.read_text(encoding="utf-8") if text is None else text
    for line, stmt in split_statements(text):
        try:
            con.execute(stmt)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise PipelineError(f"{path.name} line {line}: {first}") from exc


def _ordered(sources: dict[str, dict]) -> list[str]:
    def rank(key: str) -> tuple[int, str]:
        kind = sources[key]["kind"]
        return (MAPPING_ORDER.index(kind) if kind in MAPPING_ORDER else len(MAPPING_ORDER), key)

    return sorted(sources, key=rank)


def build_canon(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, keys: list[str]) -> dict[str, int]:
    """Create the canonical model and fill it from every source's raw tables, then resolve across sources."""
    run_sql_file(con, CANON_DIR / "schema.sql")
    for key in keys:
        found = mapping_sql(key, cfg.sources[key])
        if found:
            run_sql_file(con, found[0], found[1])
    resolve = CANON_DIR / "resolve.sql"
    if resolve.exists():
        run_sql_file(con, resolve)
    rows = con.execute(
        "SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'canon' ORDER BY 1"
    ).fetchall()
    return {t: con.execute(f"SELECT count(*) FROM canon.{t}").fetchone()[0] for t, _ in rows}


def _record_sources(
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
                "INSERT INTO meta.source_run VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    run_id,
                    res.source,
                    system,
                    scfg["transport"],
                    st.stream,
                    st.table,
                    "failed" if st.error else "ok",
                    st.rows,
                    st.files,
                    st.seconds,
                    extracted_at,
                    st.error,
                    ",".join(st.extra_fields),
                    ",".join(st.missing_fields),
                ],
            )
            con.execute(
                "INSERT INTO meta.source_history VALUES (?,?,?,?,?,?,?,?)",
                [
                    run_id,
                    res.source,
                    st.stream,
                    "failed" if st.error else "ok",
                    st.rows,
                    st.seconds,
                    extracted_at,
                    st.error,
                ],
            )


def _incremental_base(con, prev: Path | None, key: str, scfg: dict, collector: Collector):
    """For an incremental source: the last snapshot of each cursor stream and the cursor it was read to."""
    states: dict[str, StreamState] = {}
    merge: set[str] = set()
    if not scfg.get("incremental") or prev is None:
        return states, merge
    con.execute(f"ATTACH '{prev}' AS previnc (READ_ONLY)")
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


def _save_states(con, run_id: str, key: str, states: dict[str, StreamState], res: SourceResult) -> None:
    """Remember how far each stream was read, for the next incremental pull (only streams read whole)."""
    ok = {s.stream for s in res.streams if not s.error}
    for stream, state in states.items():
        if stream in ok and state.cursor:
            con.execute("DELETE FROM meta.stream_state WHERE source = ? AND stream = ?", [key, stream])
            con.execute(
                "INSERT INTO meta.stream_state VALUES (?, ?, ?, ?, ?)",
                [key, stream, state.cursor, run_id, utcnow()],
            )


def _carry_raw(
    con: duckdb.DuckDBPyConnection, run_id: str, prev: Path | None, keys: list[str]
) -> list[SourceResult]:
    """Sources not collected this time keep their last good raw tables (collect SOURCE refreshes one).

    Their meta.source_run rows come along marked 'carried' with the original extraction time, so
    freshness still sees how old the data is and the next partial collect carries them again.
    """
    if prev is None or not keys:
        return []
    con.execute(f"ATTACH '{prev}' AS prevraw (READ_ONLY)")
    carried = []
    try:
        rows = con.execute(
            "SELECT source, stream, raw_table, rows FROM prevraw.meta.source_run"
            " WHERE status IN ('ok', 'carried') AND source IN (SELECT unnest(?))",
            [keys],
        ).fetchall()
        for key in keys:
            res = SourceResult(source=key, status="carried")
            for source, stream, table, n in rows:
                if source == key:
                    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM prevraw.{table}")
                    res.streams.append(StreamResult(stream=stream, table=table, rows=n))
            carried.append(res)
        con.execute(
            "INSERT INTO meta.source_run BY NAME SELECT * REPLACE (? AS run_id, 'carried' AS status)"
            " FROM prevraw.meta.source_run WHERE status IN ('ok', 'carried') AND source IN (SELECT unnest(?))",
            [run_id, keys],
        )
    finally:
        con.execute("DETACH prevraw")
    return carried


def run(
    cfg: cfgmod.Config,
    *,
    only: list[str] | None = None,
    trigger: str = "cli",
    progress: Progress | None = None,
    with_checks: bool = True,
) -> RunReport:
    """One run end to end. The published warehouse changes only if this run is complete and consistent.

    `only` = None collects every enabled source; a list refreshes those sources and carries the others'
    last good raw tables forward; an empty list collects nothing and re-runs canon and checks.
    """
    say = progress or (lambda _msg: None)
    wh = Warehouse.at(cfg.data_dir)
    ops = OpsStore(cfg.ops_url)
    run_id = new_run_id()
    report = RunReport(run_id=run_id, warehouse_file=str(wh.run_path(run_id)), trigger=trigger)
    started = time.perf_counter()
    enabled = {k: v for k, v in cfg.sources.items() if v["enabled"] or (only and k in only)}
    if only:
        unknown = [k for k in only if k not in cfg.sources]
        if unknown:
            raise PipelineError(
                f"unknown source(s) {', '.join(unknown)}; configured: {', '.join(cfg.sources) or 'none'}"
            )
    with RunLock(cfg.data_dir) as lock:
        lock.acquire(run_id)
        ops.mark_abandoned()
        ops.run_started(run_id, trigger=trigger, warehouse_file=report.warehouse_file)
        con = wh.create(
            run_id, threads=cfg.get("warehouse", "threads"), memory_limit=cfg.get("warehouse", "memory_limit")
        )
        try:
            _run_steps(con, cfg, wh, report, enabled, only, say, with_checks=with_checks, trigger=trigger)
        except Exception as exc:  # any failure: recorded, never published
            report.status = "failed"
            report.errors.append(
                str(exc)
                if isinstance(exc, (PipelineError, CollectorError))
                else f"{type(exc).__name__}: {exc}"
            )
            log.exception("run %s failed", run_id)
        finally:
            report.seconds = round(time.perf_counter() - started, 2)
            _finish(con, cfg, wh, report)
            ops.run_finished(
                run_id,
                status=report.status,
                published=report.published,
                rows=report.rows,
                seconds=report.seconds,
                sources={
                    s.source: {"status": s.status, "rows": s.rows, "errors": s.errors} for s in report.sources
                },
                errors=report.errors,
            )
            _alert(cfg, report, say)
    say(f"run {run_id}: {report.status}{' (published)' if report.published else ' (not published)'}")
    return report


def _alert(cfg: cfgmod.Config, report: RunReport, say: Progress) -> None:
    """Post the digest of what is new or worse; a webhook problem never changes the run's outcome."""
    try:
        from closedloop.alerts import alert_after_run

        report.alerts = alert_after_run(cfg, report, say=say)
    except Exception as exc:
        log.exception("alerts for run %s failed", report.run_id)
        report.alerts = {"error": f"{type(exc).__name__}: {exc}"}


def _run_steps(con, cfg, wh, report, enabled, only, say, *, with_checks: bool, trigger: str) -> None:
    prev = wh.carry_forward(con)
    con.execute(
        "INSERT INTO meta.run VALUES (?, ?, NULL, 'running', ?, ?, ?, ?, NULL)",
        [
            report.run_id,
            utcnow(),
            cfg.as_of,
            trigger,
            cfg.get("closedloop", "reporting_currency"),
            str(cfg.path or ""),
        ],
    )
    extracted_at = utcnow()
    # only=None collects everything; only=[...] refreshes those and carries the rest; only=[] re-checks
    to_collect = [k for k in _ordered(enabled) if only is None or k in only]
    for key in to_collect:
        say(f"collecting {key}")
        try:
            collector = build_collector(key, cfg.sources[key])
        except Exception as exc:
            res = SourceResult(source=key, status="failed")
            res.streams.append(StreamResult(stream="*", table="", error=f"source {key}: {exc}"))
        else:
            states, merge = _incremental_base(con, prev, key, cfg.sources[key], collector)
            res = collect_source(
                con,
                collector,
                run_id=report.run_id,
                extracted_at=extracted_at,
                states=states,
                merge_streams=merge,
            )
            _save_states(con, report.run_id, key, states, res)
        report.sources.append(res)
        report.errors.extend(res.errors)
        say(f"  {key}: {res.status}, {res.rows:,} rows in {res.seconds:.1f}s")
    carried = _carry_raw(
        con, report.run_id, prev, [k for k in _ordered(enabled) if only is not None and k not in only]
    )
    _record_sources(con, report.run_id, cfg, report.sources, extracted_at)
    report.sources.extend(carried)
    from closedloop.contracts.step import TrustStep

    trust = TrustStep(con, cfg, report, prev)  # drift + raw contracts, then canon contracts + monitors
    trust.before_canon(say)
    say("building the canonical model")
    report.canon_rows = build_canon(con, cfg, _ordered(enabled))
    _snapshot_meta(con, cfg, report)
    trust.after_canon(say)  # critical results fail their source: suppressed checks, partial run
    failed = [s.source for s in report.sources if s.status == "failed"]
    report.status = "ok" if not failed else ("failed" if len(failed) == len(report.sources) else "partial")
    if with_checks:
        report.checks = _run_checks(con, cfg, report, prev, failed, say)
    trust.after_checks()
    report.trust = trust.summary()


# Canonical tables whose source_system column describes the record, not the source it came from.
_OWN_SOURCE_COLUMN = {"integration_event": "middleware"}


def _snapshot_meta(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, report: RunReport) -> None:
    """Per source and canonical table: when it was extracted, rows, status, newest source-side change.

    Keyed by canonical table because checks depend on canonical tables (gating by Q2C-105/106);
    the per-stream view of the same run stays in meta.source_run.
    """
    newest = _newest_modification(con, cfg, report)
    status = {s.source: ("ok" if s.status in ("ok", "carried") else "failed") for s in report.sources}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _source_state(source VARCHAR, status VARCHAR, newest TIMESTAMPTZ)"
    )
    for src, st in status.items():
        con.execute("INSERT INTO _source_state VALUES (?, ?, ?)", [src, st, newest.get(src)])
    tables = con.execute(
        "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'canon' AND column_name = 'snapshot_ts'"
        " AND table_name IN (SELECT table_name FROM duckdb_columns() WHERE schema_name = 'canon'"
        " AND column_name = 'source_system') AND table_name <> 'snapshot_meta' ORDER BY 1"
    ).fetchall()
    for (table,) in tables:
        if table in _OWN_SOURCE_COLUMN:  # its source_system is the event's origin, not our source key
            continue
        con.execute(
            f"INSERT INTO canon.snapshot_meta SELECT t.source_system, '{table}', min(t.snapshot_ts), count(*),"
            f" coalesce(any_value(s.status), 'ok'), any_value(s.newest)"
            f" FROM canon.{table} t LEFT JOIN _source_state s ON s.source = t.source_system GROUP BY t.source_system"
        )
    for table, kind in _OWN_SOURCE_COLUMN.items():
        for key, scfg in cfg.sources.items():
            if scfg["kind"] == kind and key in status:
                con.execute(
                    f"INSERT INTO canon.snapshot_meta SELECT ?, '{table}', min(snapshot_ts), count(*), ?, ?"
                    f" FROM canon.{table} HAVING count(*) > 0",
                    [key, status[key], newest.get(key)],
                )
    # a failed source that left a table empty still has a row, so gating sees it as not ok
    con.execute(
        "INSERT INTO canon.snapshot_meta SELECT s.source, r.stream, NULL, 0, 'failed', NULL"
        " FROM _source_state s JOIN meta.source_run r ON r.source = s.source AND r.run_id = ?"
        " WHERE s.status = 'failed' AND r.status = 'failed'",
        [report.run_id],
    )


def _newest_modification(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, report: RunReport) -> dict:
    """The newest cursor value (SystemModstamp, lastmodifieddate, ...) per source: its freshness signal."""
    newest: dict = {}
    for res in report.sources:
        try:
            streams = {
                s.name: s
                for s in cfgmod.source_module(cfg.sources[res.source]["kind"]).streams(
                    cfg.sources[res.source]
                )
            }
        except Exception:  # a source without declarations (generic files/sql) has no cursor
            continue
        for st in res.streams:
            stream = streams.get(st.stream)
            if stream is None or not stream.cursor_field or st.error or not st.rows:
                continue
            try:
                value = con.execute(
                    f'SELECT max(TRY_CAST("{stream.cursor_field}" AS TIMESTAMPTZ)) FROM {raw_table(res.source, st.stream)}'
                ).fetchone()[0]
            except duckdb.Error:
                continue
            if value is not None and (res.source not in newest or value > newest[res.source]):
                newest[res.source] = value
    return newest


def _run_checks(con, cfg, report, prev, failed, say) -> dict | None:
    try:
        from checks.kpis import compute_kpis
        from checks.runner import run_checks
    except ImportError:
        return None
    say("running checks")
    summary = run_checks(
        con,
        run_id=report.run_id,
        as_of=cfg.as_of,
        reporting_ccy=cfg.get("closedloop", "reporting_currency"),
        params=cfg.get("checks", "params"),
        suppressed_sources=set(failed),
        previous=str(prev) if prev else None,
    )
    compute_kpis(
        con, run_id=report.run_id, as_of=cfg.as_of, reporting_ccy=cfg.get("closedloop", "reporting_currency")
    )
    return summary if isinstance(summary, dict) else getattr(summary, "as_dict", lambda: None)()


def _finish(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, wh: Warehouse, report: RunReport) -> None:
    """Close the run file; publish it only when it is whole (or partial runs are allowed to publish)."""
    publishable = report.status == "ok" or (
        report.status == "partial" and cfg.get("warehouse", "publish_partial")
    )
    try:
        con.execute(
            "UPDATE meta.run SET finished_at = ?, status = ? WHERE run_id = ?",
            [utcnow(), report.status, report.run_id],
        )
        con.execute(
            "INSERT INTO meta.run_history VALUES (?, (SELECT started_at FROM meta.run WHERE run_id = ?), ?, ?, ?, ?, ?, ?, ?)",
            [
                report.run_id,
                report.run_id,
                utcnow(),
                report.status,
                cfg.as_of,
                report.trigger,
                report.rows,
                len(report.errors),
                report.seconds,
            ],
        )
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        report.errors.append(f"finishing the run file: {exc}")
        publishable = False
        report.status = "failed"
    finally:
        con.close()
    if publishable:
        wh.publish(report.run_id)
        report.published = True
        wh.prune(cfg.get("warehouse", "retention_runs"))
