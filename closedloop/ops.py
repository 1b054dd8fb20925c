"""The ops store (SQLAlchemy: SQLite by default, any URL for teams): the run ledger and what users write."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

run_log = sa.Table(
    "run_log",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),  # running, ok, partial, failed, killed
    sa.Column("trigger", sa.String(32)),
    sa.Column("published", sa.Boolean, default=False),
    sa.Column("rows", sa.BigInteger, default=0),
    sa.Column("seconds", sa.Float),
    sa.Column("sources", sa.Text),  # JSON: {source: {status, rows, errors}}
    sa.Column("errors", sa.Text),  # JSON list of one-line errors
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(128)),
    sa.Column("warehouse_file", sa.String(512)),
)

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


def _m001_run_log(conn: sa.Connection) -> None:
    run_log.create(conn, checkfirst=True)


# Alerts: what was already posted (dedup per finding) and every delivery attempt (closedloop/alerts.py).
alert_sent = sa.Table(
    "alert_sent",
    metadata,
    sa.Column("alert_key", sa.String(128), primary_key=True),  # finding_key, or 'source:<key>:<kind>'
    sa.Column("first_alerted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_alerted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_run_id", sa.String(64)),
    sa.Column("severity", sa.String(8)),
    sa.Column("impact_rc", sa.Numeric(18, 2)),
)
alert_delivery = sa.Table(
    "alert_delivery",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64)),
    sa.Column("webhook", sa.String(128)),  # the webhook's name and host, never its URL
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16)),  # sent | failed
    sa.Column("attempts", sa.Integer),
    sa.Column("items", sa.Integer),
    sa.Column("error", sa.Text),
)
# Scheduler: 'run now' requests from the app, and the serving scheduler's heartbeat (closedloop/scheduler.py).
run_request = sa.Table(
    "run_request",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("requested_by", sa.String(128)),
    sa.Column("only", sa.Text),  # JSON list of source keys, or NULL for the whole run
    sa.Column("status", sa.String(16), nullable=False),  # pending | running | done | failed | busy
    sa.Column("taken_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("run_id", sa.String(64)),
    sa.Column("note", sa.Text),
)
scheduler_heartbeat = sa.Table(
    "scheduler_heartbeat",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(128)),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("beat_at", sa.DateTime(timezone=True)),
)


# Finance workflow: every action on a finding or a case, append-only (closedloop/workflow.py folds it into
# state). `finding_key` holds the key of what was acted on; `subject` says which kind of key it is.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("finding_key", sa.String(64), nullable=False, index=True),
    sa.Column("run_id", sa.String(64)),
    sa.Column("payload", sa.Text, nullable=False, default="{}"),
    sa.Column("subject", sa.String(16), nullable=False, server_default="finding"),
)


def _m002_alerts(conn: sa.Connection) -> None:
    alert_sent.create(conn, checkfirst=True)
    alert_delivery.create(conn, checkfirst=True)


def _m003_scheduler(conn: sa.Connection) -> None:
    run_request.create(conn, checkfirst=True)
    scheduler_heartbeat.create(conn, checkfirst=True)


def _m004_workflow_audit(conn: sa.Connection) -> None:
    audit_log.create(conn, checkfirst=True)  # a new store gets today's table; 005 then has nothing to add


def _m005_audit_subject(conn: sa.Connection) -> None:
    """Cases carry the workflow: an audit entry names a finding or a case (existing entries are findings')."""
    have = {c["name"] for c in sa.inspect(conn).get_columns("audit_log")}
    if "subject" not in have:
        conn.execute(
            sa.text("ALTER TABLE audit_log ADD COLUMN subject VARCHAR(16) NOT NULL DEFAULT 'finding'")
        )


# Access: who signed in and out, opened a case or a trace, exported, was refused, requested a run
# (closedloop/audit.py). Append-only: nothing in closedloop updates or deletes a row of it.
access_log = sa.Table(
    "access_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False, index=True),
    sa.Column("roles", sa.String(200), nullable=False, default=""),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False, default=""),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
)


def _m006_access_log(conn: sa.Connection) -> None:
    access_log.create(conn, checkfirst=True)


# The serving scheduler's own state (closedloop/scheduler.py): its last run outcome, a pending retry, and a config
# file that stopped parsing while it runs (it carries on with the last good one). One row per scheduler name.
scheduler_status = sa.Table(
    "scheduler_status",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("outcome_at", sa.DateTime(timezone=True)),
    sa.Column("run_id", sa.String(64)),
    sa.Column("trigger", sa.String(32)),
    sa.Column("status", sa.String(16)),  # ok | partial | failed | skipped
    sa.Column("reason", sa.Text),
    sa.Column("seconds", sa.Float),
    sa.Column("retry", sa.Text),  # the next retry of a failed scheduled run, if one is planned
    sa.Column("config_file", sa.String(512)),
    sa.Column("config_error", sa.Text),
    sa.Column("config_error_since", sa.DateTime(timezone=True)),
)


def _m007_scheduler_status(conn: sa.Connection) -> None:
    scheduler_status.create(conn, checkfirst=True)


# Named, transactional migrations applied in order; later issues append (workflow, audit, schedules).
MIGRATIONS: list[tuple[str, Callable[[sa.Connection], None]]] = [
    ("001_run_log", _m001_run_log),
    ("002_alerts", _m002_alerts),
    ("003_scheduler", _m003_scheduler),
    ("004_workflow_audit", _m004_workflow_audit),
    ("005_audit_subject", _m005_audit_subject),
    ("006_access_log", _m006_access_log),
    ("007_scheduler_status", _m007_scheduler_status),
]


def engine_for(url: str) -> sa.Engine:
    """An engine for the ops store; SQLite files get their directory and a busy timeout."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(url, connect_args={"timeout": 30})
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: sa.Engine) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; returns their names."""
    applied = []
    with engine.begin() as conn:
        schema_migrations.create(conn, checkfirst=True)
        done = {r[0] for r in conn.execute(sa.select(schema_migrations.c.name))}
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with engine.begin() as conn:
            fn(conn)
            conn.execute(schema_migrations.insert().values(name=name, applied_at=dt.datetime.now(dt.UTC)))
        applied.append(name)
    return applied


class OpsStore:
    """Thin access to the ops store tables."""

    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)
        migrate(self.engine)

    def run_started(self, run_id: str, *, trigger: str, warehouse_file: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                run_log.insert().values(
                    run_id=run_id,
                    started_at=dt.datetime.now(dt.UTC),
                    status="running",
                    trigger=trigger,
                    pid=os.getpid(),
                    host=os.uname().nodename,
                    warehouse_file=warehouse_file,
                )
            )

    def run_finished(self, run_id: str, **values: Any) -> None:
        for key in ("sources", "errors"):
            if key in values and not isinstance(values[key], str):
                values[key] = json.dumps(values[key], default=str)
        with self.engine.begin() as conn:
            conn.execute(
                run_log.update()
                .where(run_log.c.run_id == run_id)
                .values(finished_at=dt.datetime.now(dt.UTC), **values)
            )

    def mark_abandoned(self) -> int:
        """Runs left 'running' by a killed process: only called while holding the run lock."""
        with self.engine.begin() as conn:
            res = conn.execute(
                run_log.update()
                .where(run_log.c.status == "running")
                .values(status="killed", errors=json.dumps(["process ended before the run finished"]))
            )
            return res.rowcount or 0

    def runs(self, limit: int = 20) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(run_log).order_by(run_log.c.started_at.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]
