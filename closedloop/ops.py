"""The ops store (SQLAlchemy: SQLite by default, any URL for teams): the run ledger and what users write."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from closedloop.redact import redact, redact_tree
from closedloop.runlock import RunLock, pid_alive
from closedloop.warehouse import Warehouse

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
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_wal)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _sqlite_wal(dbapi_conn: Any, _record: Any) -> None:
    """Write-ahead log, synced at checkpoints: a commit (an audit line per trace lookup, a workflow action)
    appends to the log instead of fsyncing a rollback journal three times, about 30 ms of each lookup on a busy
    disk; readers (the app) and the writer (a run, the scheduler) no longer block each other. A commit
    survives the process being killed; only an OS crash may lose the last ones."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


# The app opens the store from several threads at once (a page's script run, the prewarm): one migrates at a time.
_MIGRATING = threading.Lock()


def _applied(engine: sa.Engine) -> set[str]:
    with engine.begin() as conn:
        schema_migrations.create(conn, checkfirst=True)
        return {r[0] for r in conn.execute(sa.select(schema_migrations.c.name))}


def _recorded_soon(engine: sa.Engine, name: str, wait_s: float = 5.0) -> bool:
    """Whether another process records migration `name` within wait_s (it created the table, then records)."""
    deadline = time.monotonic() + wait_s
    while True:
        if name in _applied(engine):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def migrate(engine: sa.Engine) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; returns their names. Another process
    migrating the same store at the same moment (serve and the app starting together) makes a create or the
    record fail here: that migration is then the other's, if it recorded it, and is not an error."""
    applied = []
    with _MIGRATING:
        try:
            done = _applied(engine)
        except sa.exc.DBAPIError:  # lost the race on creating schema_migrations itself: it exists now
            done = _applied(engine)
        for name, fn in MIGRATIONS:
            if name in done:
                continue
            try:
                with engine.begin() as conn:
                    fn(conn)
                    conn.execute(
                        schema_migrations.insert().values(name=name, applied_at=dt.datetime.now(dt.UTC))
                    )
            except sa.exc.DBAPIError:
                if not _recorded_soon(engine, name):
                    raise
                continue
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
                values[key] = json.dumps(redact_tree(values[key]), default=str)
            elif key in values:
                values[key] = redact(values[key])
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
                .values(status="killed", errors=json.dumps([KILLED]))
            )
            return res.rowcount or 0

    def reconcile(self, wh: Warehouse, lock: RunLock, *, clean_files: bool = True) -> dict[str, list[str]]:
        """Make the ledger say what the warehouse and the run lock say, and clear what killed runs left.

        The pointer is the truth of what was published: a run killed between renaming it and writing
        the ledger is recorded published, with its status from its own file. A 'running' run of this
        data directory that does not hold the lock (or whose process is gone) was killed. Then orphan
        pointer temp files and killed runs' files go, never one a reader can be pointed at."""
        done: dict[str, list[str]] = {"published": [], "killed": [], "removed": []}
        doc = wh.published()
        current = doc["run_id"] if doc else None
        with self.engine.begin() as conn:
            if current:
                row = conn.execute(sa.select(run_log).where(run_log.c.run_id == current)).first()
                if row is not None and (not row.published or row.status in ("running", "killed")):
                    conn.execute(
                        run_log.update()
                        .where(run_log.c.run_id == current)
                        .values(published=True, **_as_published(wh, current, row.finished_at))
                    )
                    done["published"].append(current)
            holder = None if lock.held else lock.holder()
            here = os.uname().nodename
            for row in conn.execute(sa.select(run_log).where(run_log.c.status == "running")).all():
                if row.run_id == current or (lock.held and row.pid == os.getpid() and row.host == here):
                    continue
                ours = _under(row.warehouse_file, wh.runs_dir)
                if ours:  # the lock names the one live run of this data directory
                    dead = lock.held or not holder or holder.get("run_id") != row.run_id
                else:
                    dead = row.host == here and not pid_alive(row.pid)
                if dead:
                    conn.execute(
                        run_log.update()
                        .where(run_log.c.run_id == row.run_id)
                        .values(status="killed", errors=json.dumps([KILLED]))
                    )
                    done["killed"].append(row.run_id)
            killed_files = [
                Path(r.warehouse_file)
                for r in conn.execute(sa.select(run_log).where(run_log.c.status == "killed")).all()
                if r.warehouse_file and _under(r.warehouse_file, wh.runs_dir)
            ]
        if clean_files:
            for tmp in wh.orphan_pointer_temps(holding_lock=lock.held):
                tmp.unlink(missing_ok=True)
                done["removed"].append(tmp.name)
            in_use = wh.in_use()
            for f in killed_files:
                if f.name not in in_use and (f.exists() or f.with_suffix(".duckdb.wal").exists()):
                    wh.remove_run_file(f)
                    done["removed"].append(f.name)
        return done

    def runs(self, limit: int = 20) -> list[dict]:
        """The latest runs, their statuses made true first (a killed run shows killed at once)."""
        with self.engine.connect() as conn:
            stale = conn.execute(
                sa.select(run_log.c.warehouse_file)
                .where(sa.or_(run_log.c.status.in_(("running", "killed")), run_log.c.published.is_(False)))
                .order_by(run_log.c.started_at.desc())
                .limit(limit)
            ).all()
        for root in {Path(r[0]).parent.parent for r in stale if r[0]}:
            # reading files and the lock only: nothing is deleted on behalf of a reader
            self.reconcile(Warehouse(root), RunLock(root.parent), clean_files=False)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(run_log).order_by(run_log.c.started_at.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]


KILLED = "process ended before the run finished"


def open_reconciled(cfg: Any) -> OpsStore:
    """A config's ops store with its ledger reconciled (OpsStore.reconcile): what `serve` and `runs` open."""
    store = OpsStore(cfg.ops_url)
    store.reconcile(Warehouse.at(cfg.data_dir), RunLock(cfg.data_dir))
    return store


def _under(file: str | None, directory: Path) -> bool:
    return bool(file) and Path(file).parent.resolve() == directory.resolve()


def _as_published(wh: Warehouse, run_id: str, finished_at: Any) -> dict[str, Any]:
    """What the published run's own file says about it: its status, rows and seconds."""
    import duckdb

    values: dict[str, Any] = {"status": "ok", "errors": "[]"}
    try:
        con = duckdb.connect(str(wh.run_path(run_id)), read_only=True)
    except duckdb.Error:
        return values
    try:
        row = con.execute(
            "SELECT status, finished_at, rows, seconds FROM meta.run_history WHERE run_id = ?", [run_id]
        ).fetchone()
    except duckdb.Error:
        row = None
    finally:
        con.close()
    if row:
        values.update(status=row[0], rows=row[2], seconds=row[3])
        if finished_at is None:
            values["finished_at"] = row[1]
    elif finished_at is None:
        values["finished_at"] = dt.datetime.now(dt.UTC)
    return values
