"""What `closedloop serve` adds around each run: the outcome recorded, logged once and alerted; a failed
scheduled run retried with bounded backoff; the config re-read on every job, with the last good one kept (and
said so, once) while the file does not parse; the checks `serve` makes before it starts."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import sqlalchemy as sa

from closedloop import settings as cfgmod
from closedloop.lastgood import LastGood
from closedloop.ops import OpsStore, scheduler_status

log = logging.getLogger(
    "closedloop.scheduler"
)  # one logger for the scheduler's lines, wherever they are made


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run_and_record(cfg: cfgmod.Config, only: list[str] | None, trigger: str):
    """One run whatever happens: in the ledger with its reason, alerted, and one log line for its outcome.

    RunInProgress propagates (nothing ran); any other exception becomes a failed run of its own.
    """
    from closedloop import pipeline
    from closedloop.outcome_alerts import run_reason
    from closedloop.runlock import RunInProgress
    from closedloop.warehouse import new_run_id

    started = _now()
    try:
        report = pipeline.run(cfg, only=only, trigger=trigger)
    except RunInProgress:
        raise
    except Exception as exc:
        # it failed before the pipeline recorded it (an unknown source after an edit, the ops store, ...)
        log.debug("run failed before it started", exc_info=True)
        report = pipeline.RunReport(run_id=new_run_id(), status="failed", trigger=trigger)
        report.errors.append(
            str(exc) if isinstance(exc, pipeline.PipelineError) else f"{type(exc).__name__}: {exc}"
        )
        report.seconds = round((_now() - started).total_seconds(), 2)
        try:
            ops = OpsStore(cfg.ops_url)
            ops.run_started(report.run_id, trigger=trigger, warehouse_file="")
            ops.run_finished(report.run_id, status="failed", seconds=report.seconds, errors=report.errors)
        except Exception:
            log.warning("run %s could not be written to the ledger", report.run_id, exc_info=True)
        pipeline._alert(cfg, report, lambda _msg: None)
    reason = run_reason(report)
    log.log(
        logging.INFO if report.status == "ok" else logging.WARNING,
        "run %s %s (trigger %s) in %.1fs%s",
        report.run_id,
        report.status,
        trigger,
        report.seconds,
        f": {reason}" if reason else "",
    )
    record_status(
        cfg,
        outcome_at=_now(),
        run_id=report.run_id,
        trigger=trigger,
        status=report.status,
        reason=reason or None,
        seconds=report.seconds,
    )
    return report


RETRY_CAP_SECONDS = 6 * 3600.0
_SCHED: Any = None  # the scheduler `start` runs in this process: retries are one-off jobs on it


def retry_delay(base: float, attempt: int) -> float:
    """Seconds before retry number attempt+1: base, 2·base, 4·base ... never more than 6 hours."""
    return min(base * 2**attempt, RETRY_CAP_SECONDS)


def plan_retry(cfg: cfgmod.Config, config_path: str | None, only, attempt: int, status: str) -> None:
    s = cfg.values["schedule"]
    if status == "ok" or _SCHED is None:
        record_status(cfg, retry=None)
        return
    if attempt >= s["retry_attempts"]:
        note = f"gave up after {attempt} retries" if attempt else None
        record_status(cfg, retry=note)
        return
    delay = retry_delay(s["retry_base_seconds"], attempt)
    when = _now() + dt.timedelta(seconds=delay)
    from closedloop.scheduler import RUN_JOB, scheduled_run

    job_id = "retry:" + (RUN_JOB if only is None else ",".join(only))
    _SCHED.add_job(
        scheduled_run,
        "date",
        run_date=when,
        args=[config_path, only, "retry", attempt + 1],
        id=job_id,
        name=job_id,
        jobstore="memory",
        replace_existing=True,
    )
    note = f"retry {attempt + 1}/{s['retry_attempts']} at {when:%Y-%m-%d %H:%M:%S} UTC"
    log.info("%s: %s", job_id, note)
    record_status(cfg, retry=note)


def record_status(cfg: cfgmod.Config, **values: Any) -> None:
    """Upsert the serving scheduler's status row; a problem writing it never stops the scheduler."""
    try:
        ops = OpsStore(cfg.ops_url)
        with ops.engine.begin() as conn:
            done = conn.execute(
                scheduler_status.update().where(scheduler_status.c.name == "scheduler").values(**values)
            )
            if not done.rowcount:
                conn.execute(scheduler_status.insert().values(name="scheduler", **values))
    except Exception:
        log.warning("the scheduler's status could not be written", exc_info=True)


_KEEPERS: dict[str | None, LastGood] = {}
_KEEPERS_LOCK = threading.Lock()


def keep(cfg: cfgmod.Config) -> None:
    """Remember `cfg` (checked at start) as the last good config of its file, for the jobs of this process."""
    path = str(cfg.path) if cfg.path else None
    with _KEEPERS_LOCK:
        _KEEPERS[path] = LastGood(path, good=cfg, validate=validate)


def attach(sched) -> None:
    """The scheduler this process serves: retries and schedule edits are applied to it."""
    global _SCHED
    _SCHED = sched


def current_config(config_path: str | None) -> cfgmod.Config:
    """The config now, or the last good one while the file does not parse (said once: log, status, alert)."""
    from closedloop.scheduler import sync_jobs, wanted_jobs

    with _KEEPERS_LOCK:
        keeper = _KEEPERS.setdefault(config_path, LastGood(config_path, validate=validate))
    before = keeper.good
    cfg, broken, changed = keeper.load()
    if changed:
        _config_changed(cfg, broken)
    elif (
        broken is None
        and before is not None
        and _SCHED is not None
        and wanted_jobs(before) != wanted_jobs(cfg)
    ):
        actions = sync_jobs(_SCHED, cfg)  # a schedule edited while serving applies without a restart
        log.info("schedule changed: %s", ", ".join(f"{k} {v}" for k, v in actions.items()))
    return cfg


def _config_changed(cfg: cfgmod.Config, broken) -> None:
    from closedloop.outcome_alerts import config_changed
    from closedloop.scheduler import sync_jobs

    if broken is not None:
        log.warning("config stopped parsing, keeping the last good config: %s", broken.error)
        record_status(
            cfg, config_file=broken.file, config_error=broken.error, config_error_since=broken.since
        )
    else:
        log.info("config %s parses again: using it", cfg.path)
        record_status(cfg, config_file=None, config_error=None, config_error_since=None)
        if _SCHED is not None:
            sync_jobs(_SCHED, cfg)
    try:
        config_changed(cfg, broken)
    except Exception as exc:
        log.warning("config alert failed: %s: %s", type(exc).__name__, exc)


def validate(cfg: cfgmod.Config) -> None:
    """What `serve` needs before it starts (and of every edit while it runs): crons, webhooks, retry settings."""
    from closedloop.alerts import webhooks
    from closedloop.scheduler import _trigger, wanted_jobs

    tz = cfg.get("schedule", "timezone")
    for cron, only in wanted_jobs(cfg).values():
        key = "'schedule.run'" if only is None else f"'sources.{only[0]}.schedule'"
        _trigger(cron, tz, f"{cfg.path or '<defaults>'}: key {key}")
    webhooks(cfg)
    s = cfg.values["schedule"]
    for key, low, ok in (
        ("retry_attempts", "0 or more", s["retry_attempts"] >= 0),
        ("retry_base_seconds", "more than 0", s["retry_base_seconds"] > 0),
        ("poll_seconds", "more than 0", s["poll_seconds"] > 0),
    ):
        if not ok:
            raise cfgmod.ConfigError(f"{cfg.path or '<defaults>'}: key 'schedule.{key}' must be {low}")


def configure_logging() -> None:
    """closedloop's own lines (run outcomes, config news) at INFO on stderr; libraries only at WARNING.

    httpx's INFO request lines would print webhook URLs (a Slack webhook's secret is its path), and the poll job
    being busy while it runs a requested run is not news.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("closedloop").setLevel(logging.INFO)
    logging.getLogger("apscheduler.scheduler").addFilter(_not_the_busy_poll)


def _not_the_busy_poll(record: logging.LogRecord) -> bool:
    text = record.getMessage()
    return not ("poll_requests" in text and "maximum number of running instances" in text)


def last_outcome(ops_url: str) -> dict[str, Any] | None:
    """The serving scheduler's status row alone (cheap: the overview's one-line status reads it)."""
    with OpsStore(ops_url).engine.connect() as conn:
        row = conn.execute(sa.select(scheduler_status).where(scheduler_status.c.name == "scheduler")).first()
    return dict(row._mapping) if row else None
