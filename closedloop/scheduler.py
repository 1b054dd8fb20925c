"""Scheduled runs under `closedloop serve`: cron jobs persisted in the ops store, plus 'run now' from the app.

The app never runs the pipeline: it writes a run_request row; the scheduler polls and runs it. Every run
goes through closedloop.pipeline.run, which holds the run lock, so a CLI run and a scheduled one never overlap.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pickle
from typing import Any

import sqlalchemy as sa

from closedloop import runlimits, serving
from closedloop import settings as cfgmod
from closedloop.ops import OpsStore, run_request, scheduler_heartbeat, scheduler_status
from closedloop.redact import redact

# the serving side (outcomes, retries, last good config, checks at start) is closedloop/serving.py
from closedloop.serving import (  # noqa: F401 - part of the scheduler's API
    RETRY_CAP_SECONDS,
    configure_logging,
    last_outcome,
    retry_delay,
    run_and_record,
    validate,
)

log = logging.getLogger(__name__)
JOB_TABLE = "apscheduler_jobs"
RUN_JOB = "run"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def wanted_jobs(cfg: cfgmod.Config) -> dict[str, tuple[str, list[str] | None]]:
    """Job id -> (cron, sources): the whole run, and each source with its own refresh schedule."""
    jobs: dict[str, tuple[str, list[str] | None]] = {}
    if cfg.get("schedule", "run").strip():
        jobs[RUN_JOB] = (cfg.get("schedule", "run").strip(), None)
    for key, scfg in cfg.sources.items():
        if (scfg.get("schedule") or "").strip() and scfg.get("enabled", True):
            jobs[f"collect:{key}"] = (scfg["schedule"].strip(), [key])
    return jobs


def _trigger(cron: str, tz: str, where: str):
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger.from_crontab(cron, timezone=tz)
    except ValueError as exc:
        raise cfgmod.ConfigError(f"{where}: {cron!r} is not a 5-field cron expression ({exc})") from None


def build(cfg: cfgmod.Config, *, poll: bool = True):
    """A BackgroundScheduler whose cron jobs live in the ops store, in sync with the config."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    OpsStore(cfg.ops_url)  # migrations first: the request and heartbeat tables
    s = cfg.values["schedule"]
    sched = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(url=cfg.ops_url, tablename=JOB_TABLE),
            "memory": MemoryJobStore(),
        },
        executors={
            "default": ThreadPoolExecutor(2)
        },  # a run and the request poll; the run lock does the rest
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": s["misfire_grace_seconds"]},
        timezone=s["timezone"],
    )
    sched.start(paused=True)
    sync_jobs(sched, cfg)
    if poll:
        path = str(cfg.path) if cfg.path else None
        sched.add_job(
            poll_requests,
            "interval",
            args=[path],
            seconds=s["poll_seconds"],
            id="poll",
            jobstore="memory",
            next_run_time=_now(),
        )
    return sched


def sync_jobs(sched, cfg: cfgmod.Config) -> dict[str, str]:
    """Add new jobs, replace changed ones, drop removed ones; unchanged jobs keep their next run (misfires)."""
    tz = cfg.get("schedule", "timezone")
    path = str(cfg.path) if cfg.path else None
    current = {j.id: j for j in sched.get_jobs(jobstore="default")}
    actions = {}
    for job_id, (cron, only) in wanted_jobs(cfg).items():
        where = f"{cfg.path or '<defaults>'}: key " + (
            "'schedule.run'" if only is None else f"'sources.{only[0]}.schedule'"
        )
        trig = _trigger(cron, tz, where)
        job = current.pop(job_id, None)
        if job is not None and str(job.trigger) == str(trig) and list(job.args) == [path, only]:
            actions[job_id] = "kept"
            continue
        sched.add_job(
            scheduled_run,
            trig,
            args=[path, only],
            id=job_id,
            name=job_id,
            replace_existing=True,
            jobstore="default",
        )
        actions[job_id] = "replaced" if job is not None else "added"
    for job_id in current:
        sched.remove_job(job_id, jobstore="default")
        actions[job_id] = "removed"
    return actions


def scheduled_run(
    config_path: str | None, only: list[str] | None, trigger: str = "schedule", attempt: int = 0
) -> str | None:
    """The job: one pipeline run; a run already in progress (CLI, app request) means this one is skipped.

    A failed or partial run is retried with exponential backoff ([schedule] retry_attempts, retry_base_seconds).
    """
    from closedloop.runlock import RunInProgress

    cfg = runlimits.served(serving.current_config(config_path))  # lower priority, the served DuckDB limits
    try:
        report = serving.run_and_record(cfg, only, trigger)
    except RunInProgress as exc:
        log.info("scheduled %s skipped: %s", only or "run", exc)
        return None
    serving.plan_retry(cfg, config_path, only, attempt, report.status)
    return report.run_id


def request_run_now(cfg: cfgmod.Config, user: str, only: list[str] | None = None) -> int:
    """Ask the serving scheduler for a run (the app calls this; it never runs the pipeline itself)."""
    ops = OpsStore(cfg.ops_url)
    with ops.engine.begin() as conn:
        pending = conn.execute(
            sa.select(run_request.c.id).where(run_request.c.status == "pending").order_by(run_request.c.id)
        ).first()
        if pending is not None and only is None:
            return pending[0]  # one queued whole run is enough
        res = conn.execute(
            run_request.insert().values(
                requested_at=_now(),
                requested_by=user,
                status="pending",
                only=json.dumps(only) if only else None,
            )
        )
        return int(res.inserted_primary_key[0])


def requeue_interrupted(ops: OpsStore) -> int:
    """Requests left 'running' by a killed scheduler go back in the queue (called once at start)."""
    with ops.engine.begin() as conn:
        res = conn.execute(
            run_request.update()
            .where(run_request.c.status == "running")
            .values(status="pending", note="requeued: the scheduler stopped during the run")
        )
        return res.rowcount or 0


def poll_requests(config_path: str | None) -> int | None:
    """Take the oldest pending request, run it, record the outcome; also the scheduler's heartbeat."""
    from closedloop.runlock import RunInProgress

    cfg = serving.current_config(config_path)
    ops = OpsStore(cfg.ops_url)
    _beat(ops)
    with ops.engine.begin() as conn:
        row = conn.execute(
            sa.select(run_request).where(run_request.c.status == "pending").order_by(run_request.c.id)
        ).first()
        if row is None:
            return None
        taken = conn.execute(
            run_request.update()
            .where(run_request.c.id == row.id, run_request.c.status == "pending")
            .values(status="running", taken_at=_now())
        )
        if not taken.rowcount:
            return None
    only = json.loads(row.only) if row.only else None
    values: dict[str, Any]
    try:
        report = serving.run_and_record(runlimits.served(cfg), only, "run_now")
        values = {"status": "done", "run_id": report.run_id, "note": report.status}
    except RunInProgress as exc:  # a scheduled or CLI run holds the lock: try again on the next poll
        values = {"status": "pending", "taken_at": None, "note": str(exc)}
    except Exception as exc:  # run_and_record records run failures itself: this is the ops store failing
        log.warning("run-now request %s failed: %s: %s", row.id, type(exc).__name__, exc)
        values = {"status": "failed", "note": redact(f"{type(exc).__name__}: {exc}")[:500]}
    with ops.engine.begin() as conn:
        conn.execute(
            run_request.update()
            .where(run_request.c.id == row.id)
            .values(finished_at=None if values["status"] == "pending" else _now(), **values)
        )
    _beat(ops)  # a long run held this poll: say at once that the scheduler is still alive
    return row.id


def _beat(ops: OpsStore) -> None:
    now = _now()
    with ops.engine.begin() as conn:
        done = conn.execute(
            scheduler_heartbeat.update()
            .where(scheduler_heartbeat.c.name == "scheduler")
            .values(pid=os.getpid(), host=os.uname().nodename, beat_at=now)
        )
        if not done.rowcount:
            conn.execute(
                scheduler_heartbeat.insert().values(
                    name="scheduler", pid=os.getpid(), host=os.uname().nodename, started_at=now, beat_at=now
                )
            )


def start(cfg: cfgmod.Config):
    """Start serving: validate, requeue interrupted requests, resume the persisted schedule, begin polling.

    A ConfigError (cron, webhook, retry settings) is raised before anything starts: `serve` exits 2 with it.
    """
    serving.validate(cfg)
    serving.keep(cfg)  # what jobs fall back on if the file stops parsing later
    requeue_interrupted(OpsStore(cfg.ops_url))
    sched = build(cfg)
    _beat(OpsStore(cfg.ops_url))
    serving.record_status(cfg, config_file=None, config_error=None, config_error_since=None, retry=None)
    serving.attach(sched)
    sched.resume()
    return sched


def scheduler_state(cfg: cfgmod.Config) -> dict[str, Any]:
    """For the Data health page and `closedloop schedule`: jobs and next runs, last runs, requests, liveness."""
    ops = OpsStore(cfg.ops_url)
    jobs = []
    insp = sa.inspect(ops.engine)
    if insp.has_table(JOB_TABLE):
        with ops.engine.connect() as conn:
            for job_id, next_ts, state in conn.execute(
                sa.text(f"SELECT id, next_run_time, job_state FROM {JOB_TABLE}")
            ):
                doc = pickle.loads(state)  # written by APScheduler in our own ops store
                jobs.append(
                    {
                        "id": job_id,
                        "trigger": str(doc.get("trigger")),
                        "sources": doc.get("args", [None, None])[1],
                        "next_run_time": dt.datetime.fromtimestamp(next_ts, dt.UTC) if next_ts else None,
                    }
                )
    with ops.engine.connect() as conn:
        reqs = [
            dict(r._mapping)
            for r in conn.execute(sa.select(run_request).order_by(run_request.c.id.desc()).limit(10))
        ]
        beat = conn.execute(sa.select(scheduler_heartbeat)).first()
        status = conn.execute(
            sa.select(scheduler_status).where(scheduler_status.c.name == "scheduler")
        ).first()
    poll = cfg.get("schedule", "poll_seconds")
    beat_at = (
        beat.beat_at.replace(tzinfo=dt.UTC)
        if beat and beat.beat_at and beat.beat_at.tzinfo is None
        else (beat.beat_at if beat else None)
    )
    return {
        "jobs": sorted(jobs, key=lambda j: j["id"]),
        "configured": {k: v[0] for k, v in wanted_jobs(cfg).items()},
        "last_runs": ops.runs(10),
        "requests": reqs,
        "alive": bool(beat_at and (_now() - beat_at).total_seconds() < max(3 * poll, 30)),
        "heartbeat": dict(beat._mapping) if beat else None,
        "status": dict(status._mapping) if status else None,  # last outcome, retry, config error
    }


def main(config: str | None = None) -> None:  # pragma: no cover - exercised through a subprocess in tests
    """Run only the scheduler in the foreground (the `serve` command adds the app beside it)."""
    import signal
    import threading

    configure_logging()
    try:
        cfg = cfgmod.load(config)
        sched = start(cfg)
    except cfgmod.ConfigError as exc:  # like `serve`: a config error is exit 2, with the key and the file
        log.error("config error: %s", exc)
        raise SystemExit(2) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    sched.shutdown(wait=False)


if __name__ == "__main__":  # pragma: no cover
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else None)
