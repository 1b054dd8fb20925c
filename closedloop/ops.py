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


# Named, transactional migrations applied in order; later issues append (workflow, audit, schedules).
MIGRATIONS: list[tuple[str, Callable[[sa.Connection], None]]] = [("001_run_log", _m001_run_log)]


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
