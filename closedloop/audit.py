"""The audit of who saw and did what: access events (ops.access_log) and workflow actions (ops.audit_log), read
as one timeline by the admin page and `closedloop audit`.

Writing is append-only: `AuditLog.record` inserts; nothing here (or anywhere in closedloop) updates or deletes.
Details are small JSON documents (filters, row counts, the page refused); never a token, secret or cookie.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from closedloop import ops

# The access events, each with what its subject names.
EVENTS: dict[str, str] = {
    "sign_in": "a person signed in (subject: the identity provider)",
    "sign_out": "a person signed out",
    "session_expired": "a sign-in older than [access] session_hours was ended",
    "view_case": "a case was opened (subject: the case key)",
    "view_trace": "a flow was traced (subject: the ID looked up)",
    "export": "a download was generated (subject: what; detail: filters and row count)",
    "denied": "a page, action or export was refused (subject: what was asked for)",
    "run_request": "a run was requested from the app",
}
WORKFLOW = "workflow"  # the kind the workflow's own actions are shown as (ops.audit_log)
MAX_SUBJECT = 500


class AuditLog:
    """Append and read the audit; one per ops-store URL."""

    def __init__(self, url_or_engine: str | sa.Engine) -> None:
        self.engine = ops.engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        ops.migrate(self.engine)

    def record(
        self,
        actor: str,
        event: str,
        subject: str = "",
        detail: dict[str, Any] | None = None,
        roles: Iterable[str] = (),
    ) -> int:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r} (known: {', '.join(EVENTS)})")
        with self.engine.begin() as conn:
            res = conn.execute(
                ops.access_log.insert().values(
                    at=dt.datetime.now(dt.UTC),
                    actor=str(actor)[:200],
                    roles=",".join(sorted(roles))[:200],
                    event=event,
                    subject=str(subject)[:MAX_SUBJECT],
                    detail=json.dumps(detail or {}, default=str, sort_keys=True),
                )
            )
            return int(res.inserted_primary_key[0])

    def read(
        self,
        since: dt.datetime | None = None,
        user: str | None = None,
        events: Iterable[str] = (),
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Access events and workflow actions, newest first: at, actor, roles, event, subject, detail (text)."""
        wanted = set(events)
        a, w = ops.access_log, ops.audit_log
        rows: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            if not wanted or wanted - {WORKFLOW}:
                q = sa.select(a.c.at, a.c.actor, a.c.roles, a.c.event, a.c.subject, a.c.detail)
                if since is not None:
                    q = q.where(a.c.at >= since)
                if user:
                    q = q.where(sa.func.lower(a.c.actor) == user.strip().lower())
                if wanted - {WORKFLOW}:
                    q = q.where(a.c.event.in_(sorted(wanted - {WORKFLOW})))
                rows += [dict(r._mapping) for r in conn.execute(q.order_by(a.c.at.desc()).limit(limit))]
            if not wanted or WORKFLOW in wanted:
                q = sa.select(w.c.at, w.c.actor, w.c.action, w.c.subject, w.c.finding_key, w.c.payload)
                if since is not None:
                    q = q.where(w.c.at >= since)
                if user:
                    q = q.where(sa.func.lower(w.c.actor) == user.strip().lower())
                for r in conn.execute(q.order_by(w.c.at.desc()).limit(limit)):
                    rows.append(
                        {
                            "at": r.at,
                            "actor": r.actor,
                            "roles": "",
                            "event": WORKFLOW,
                            "subject": f"{r.action} {r.subject} {r.finding_key}",
                            "detail": r.payload,
                        }
                    )
        for r in rows:  # SQLite hands back naive datetimes: every timestamp here is UTC
            if r["at"] is not None and r["at"].tzinfo is None:
                r["at"] = r["at"].replace(tzinfo=dt.UTC)
        rows.sort(key=lambda r: r["at"], reverse=True)
        return rows[:limit]
