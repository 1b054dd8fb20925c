"""A run: collect every source into a new warehouse file, map to canon, check, then publish if whole."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from closedloop import lineage
from closedloop import settings as cfgmod
from closedloop.canonical import CANON_DIR, MAPPING_ORDER, build_canon, mapping_sql, ordered, snapshot_meta
from closedloop.collect import (
    build_collector,
    carry_raw,
    declare_empty_streams,
    incremental_base,
    record_sources,
    save_states,
)
from closedloop.ops import OpsStore
from closedloop.redact import redact, redact_tree, register_config
from closedloop.runlock import RunLock
from closedloop.sqlfiles import PipelineError, run_sql_file, split_statements
from closedloop.steps import StepClock
from closedloop.warehouse import Warehouse, new_run_id, utcnow
from collectors.base import CollectorError
from collectors.config_keys import mismatches
from collectors.runner import SourceResult, StreamResult, collect_source

__all__ = [
    "CANON_DIR", "MAPPING_ORDER", "PipelineError", "RunReport", "build_canon", "build_collector",
    "mapping_sql", "run", "run_sql_file", "split_statements",
]  # fmt: skip

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


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
    engine: dict | None = (
        None  # where the checks ran when not in the run file: kind, URL (redacted), movement
    )
    engine_error: bool = False  # the [engine] could not be reached: exit 2, nothing published
    # collect.<source>, canonical, contracts, checks, kpis, publish: wall, CPU, rows (closedloop bench reads them)
    steps: StepClock = field(default_factory=StepClock)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sources)

    @property
    def canon_total(self) -> int:
        return sum(self.canon_rows.values())

    @property
    def exit_code(self) -> int:
        """0 ok; 2 when a source failed on a name its config sets that the source lacks; else 1."""
        if self.status == "ok":
            return 0
        if self.engine_error:
            return 2
        return 2 if any(st.config_error for s in self.sources for st in s.streams) else 1

    def as_dict(self) -> dict:
        """run --json: every string in it has passed the redaction layer."""
        return redact_tree(self._as_dict())

    def _as_dict(self) -> dict:
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
                    "streams": {
                        st.stream: {
                            "status": "failed" if st.error else st.status,
                            "rows": st.rows,
                            "error": st.error,
                            "absent_reason": st.absent_reason,
                            "missing_fields": st.missing_fields,
                        }
                        for st in s.streams
                    },
                }
                for s in self.sources
            },
            "canon_rows": self.canon_rows,
            "checks": self.checks,
            "trust": self.trust,
            "alerts": self.alerts,
            "engine": self.engine,
            "steps": self.steps.as_dict(),
        }


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
    register_config(cfg)  # the configured secret values are masked wherever they would show
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
        ops.reconcile(wh, lock)  # a run killed earlier: its ledger row, temp pointer and run file
        ops.run_started(run_id, trigger=trigger, warehouse_file=report.warehouse_file)
        con = remote = None
        try:  # from here on every failure is recorded in the ledger with its reason, and alerted
            con = wh.create(
                run_id,
                threads=cfg.get("warehouse", "threads"),
                memory_limit=cfg.get("warehouse", "memory_limit"),
            )
            remote = (
                _connect_engine(cfg, report, say) if with_checks else None
            )  # before collecting: fail fast
            _run_steps(
                con,
                cfg,
                wh,
                report,
                enabled,
                only,
                say,
                with_checks=with_checks,
                trigger=trigger,
                remote=remote,
            )
        except Exception as exc:  # any failure: recorded, never published
            report.status = "failed"
            report.errors.append(
                redact(
                    str(exc)
                    if isinstance(exc, (PipelineError, CollectorError))
                    else f"{type(exc).__name__}: {exc}"
                )
            )
            # the traceback for whoever debugs; the outcome line (scheduler, CLI) carries the reason
            log.debug("run %s failed", run_id, exc_info=True)
        finally:
            if remote is not None:
                remote.engine.close()
            report.seconds = round(time.perf_counter() - started, 2)
            with report.steps.step("publish") as step:
                if con is not None:
                    _finish(con, cfg, wh, report)
                step.rows = report.rows + report.canon_total  # the run file it closes holds raw and canon
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
        report.alerts = {"error": redact(f"{type(exc).__name__}: {exc}")}


def _connect_engine(cfg: cfgmod.Config, report: RunReport, say: Progress):
    """The [engine] the checks run on (None: the run file's own DuckDB); unreachable is exit 2."""
    from closedloop.engines import EngineUnreachable, connect, redact_url

    kind = cfg.get("engine", "kind")
    if kind == "duckdb":
        return None
    where = redact_url(cfg.get("engine", "url"))
    say(f"connecting to the {kind} engine at {where}")
    try:
        remote = connect(cfg)
    except EngineUnreachable:
        report.engine_error = True
        raise
    report.engine = {"kind": kind, "url": where, "canonical": cfg.get("engine", "canonical")}
    return remote


def _run_steps(
    con, cfg, wh, report, enabled, only, say, *, with_checks: bool, trigger: str, remote=None
) -> None:
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
    to_collect = [k for k in ordered(enabled) if only is None or k in only]
    for key in to_collect:
        say(f"collecting {key}")
        with report.steps.step(f"collect.{key}") as step:
            res = _collect(con, cfg, report, prev, key, extracted_at)
            step.rows = res.rows
        report.sources.append(res)
        report.errors.extend(res.errors)
        say(f"  {key}: {res.status}, {res.rows:,} rows in {res.seconds:.1f}s")
    carried = carry_raw(
        con, report.run_id, prev, [k for k in ordered(enabled) if only is not None and k not in only]
    )
    record_sources(con, report.run_id, cfg, report.sources, extracted_at)
    report.sources.extend(carried)
    from closedloop.contracts.step import TrustStep

    trust = TrustStep(con, cfg, report, prev)  # drift + raw contracts, then canon contracts + monitors
    clock = report.steps
    with clock.step("contracts"):
        trust.before_canon(say)
    say("building the canonical model")
    with clock.step("canonical") as step:
        report.canon_rows = build_canon(con, cfg, ordered(enabled))
        snapshot_meta(con, cfg, report)
        lineage.record(con, cfg, ordered(enabled), report.sources)  # what coverage judges checks by
        step.rows = report.canon_total
    with clock.step("contracts") as step:
        trust.after_canon(say)  # critical results fail their source: suppressed checks, partial run
        step.rows = report.rows + report.canon_total  # raw streams and canonical tables both validated
    failed = [s.source for s in report.sources if s.status == "failed"]
    report.status = "ok" if not failed else ("failed" if len(failed) == len(report.sources) else "partial")
    if with_checks:  # the rules read the monitors' observations, stored by after_canon
        report.checks = _run_checks(con, cfg, report, prev, failed, say, remote)
    report.trust = trust.summary()


def _collect(con, cfg, report, prev, key: str, extracted_at) -> SourceResult:
    """One source into its raw tables; a source that cannot even be built fails alone."""
    try:
        collector = build_collector(key, cfg.sources[key])
    except Exception as exc:
        res = SourceResult(source=key, status="failed")
        res.streams.append(StreamResult(stream="*", table="", error=redact(f"source {key}: {exc}")))
    else:
        states, merge = incremental_base(con, prev, key, cfg.sources[key], collector)
        res = collect_source(
            con,
            collector,
            run_id=report.run_id,
            extracted_at=extracted_at,
            states=states,
            merge_streams=merge,
        )
        save_states(con, report.run_id, key, states, res)
        _refuse_config_mismatches(cfg.sources[key], key, collector, res)
    if res.status == "failed":
        declare_empty_streams(con, key, cfg.sources[key])
    return res


def _refuse_config_mismatches(scfg, key: str, collector, res: SourceResult) -> None:
    """A name the config sets that the source proved it lacks is a configuration error, not an absence:
    the stream fails (so nothing is published) with the key to fix, and the run exits 2."""
    try:
        streams = collector.streams()
    except Exception:  # a source that could not list its streams has failed already, with its own error
        return
    have = {
        s.name: [c.name for c in s.columns if c.name not in sr.missing_fields] + sr.extra_fields
        for s in streams
        for sr in res.streams
        if sr.stream == s.name
    }
    for sr, message in mismatches(str(scfg.get("kind") or key), key, scfg, res.streams, have):
        sr.status, sr.error, sr.config_error = "failed", f"source {key}, stream {sr.stream}: {message}", True
        res.status = "failed"


def _run_checks(con, cfg, report, prev, failed, say, remote=None) -> dict | None:
    try:
        from checks.kpis import compute_kpis
        from checks.runner import run_checks
    except ImportError:
        return None
    say("running checks")
    ccy = cfg.get("closedloop", "reporting_currency")
    params = cfg.get("checks", "params")  # one table for rules and KPIs, validated when the config loaded
    with report.steps.step("checks") as step:  # rows: the canonical model the checks read
        summary = run_checks(
            con,
            run_id=report.run_id,
            as_of=cfg.as_of,
            reporting_ccy=ccy,
            params=params,
            suppressed_sources=set(failed),
            previous=str(prev) if prev else None,
            disabled=cfg.get("checks", "disabled"),
            remote=remote,
        )
        step.rows = report.canon_total
    with report.steps.step("kpis") as step:
        compute_kpis(
            con, run_id=report.run_id, as_of=cfg.as_of, reporting_ccy=ccy, params=params, remote=remote
        )
        step.rows = report.canon_total
    if remote is not None:
        report.engine["movement"] = remote.movement.as_dict()
        if (
            summary.by_status("error") and report.status == "ok"
        ):  # a rule the engine refused: as a failed source
            report.status = "partial"
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
        report.errors.append(redact(f"finishing the run file: {exc}"))
        publishable = False
        report.status = "failed"
    finally:
        con.close()
    if publishable:
        wh.publish(report.run_id)
        report.published = True
        wh.prune(cfg.get("warehouse", "retention_runs"))
