"""The finance workflow: assign, acknowledge, resolve, comment, allowlist, reopen — an append-only audit log.

People act on cases (checks/cases.py: the findings on the same money); entries on single findings, written
before cases existed, stay readable as subject "finding". State is never stored as a mutable row: it is
folded from the audit log and then joined with the run's lifecycle of the case (or finding), so a case the
next run no longer reproduces closes itself and one that a later run still (or again) reproduces after a
person resolved it reopens.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from closedloop import ops

REASONS = ("timing_difference", "data_entry", "integration_failure", "accepted_deviation")
ACTIONS = ("assign", "acknowledge", "resolve", "comment", "allowlist", "reopen")
BULK_ACTIONS = ("assign", "acknowledge", "resolve")
SUBJECTS = ("finding", "case")
MAX_TEXT = 2000
MAX_ALLOWLIST_DAYS = 366
# Statuses a person works on; the rest are done (resolved pending the next run, allowlisted, closed by a run).
ACTIVE = ("open", "reopened", "assigned", "acknowledged")
STATUSES = (*ACTIVE, "resolved", "allowlisted", "closed")

audit_log = ops.audit_log  # declared with the ops store's other tables and migrations


class WorkflowError(ValueError):
    """An action that cannot be recorded; the message says what to change."""


@dataclass
class State:
    """What people have done to one case (or finding), folded from its audit entries."""

    finding_key: str
    status: str | None = None  # assigned | acknowledged | resolved | None (untouched or only comments)
    assignee: str | None = None
    reason: str | None = None
    resolved_at: dt.datetime | None = None
    allow_until: dt.date | None = None
    last_action_at: dt.datetime | None = None
    comments: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    def effective(self, lifecycle: str, run_started_at: dt.datetime | None, today: dt.date) -> str:
        """The status to show, given the run's lifecycle (open/reopened/resolved) of the case or finding."""
        if lifecycle == "resolved":
            return "closed"
        if self.allow_until and self.allow_until >= today:
            return "allowlisted"
        acted_before_run = bool(
            run_started_at and self.last_action_at and _utc(self.last_action_at) < _utc(run_started_at)
        )
        if self.status == "resolved":
            return "reopened" if acted_before_run else "resolved"
        if lifecycle == "reopened" and (self.status is None or acted_before_run):
            return "reopened"
        return self.status or lifecycle


def _utc(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def _text(value: Any, what: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise WorkflowError(f"{what} is required")
    if len(text) > limit:
        raise WorkflowError(f"{what} is longer than {limit} characters")
    return text or None


class Workflow:
    """Record and read what people do to findings or cases, in the ops store (SQLite by default, any URL).

    `subject` says what the keys name: "finding" (results.finding.finding_key) or "case"
    (results.cases.case_key); each subject's entries are folded apart from the other's.
    """

    def __init__(self, url_or_engine: str | sa.Engine, subject: str = "finding") -> None:
        if subject not in SUBJECTS:
            raise ValueError(f"subject must be one of {', '.join(SUBJECTS)}, not {subject!r}")
        self.subject = subject
        self.engine = ops.engine_for(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        ops.migrate(self.engine)

    def _insert(
        self, keys: list[str], actor: str, action: str, payload: dict[str, Any], run_id: str | None
    ) -> list[int]:
        """One audit row per key, all in one transaction (a bulk action is all or nothing)."""
        keys = [_text(k, f"{self.subject} key", required=True, limit=64) or "" for k in keys]
        if not keys:
            raise WorkflowError(f"no {self.subject} selected: select at least one")
        actor = _text(actor, "who", required=True, limit=200) or ""
        if action not in ACTIONS:
            raise WorkflowError(f"unknown action {action!r}")
        at = dt.datetime.now(dt.UTC)
        body = json.dumps(payload, default=str, ensure_ascii=False)
        ids = []
        with self.engine.begin() as conn:
            for key in keys:
                res = conn.execute(
                    audit_log.insert().values(
                        at=at,
                        actor=actor,
                        action=action,
                        finding_key=key,
                        run_id=run_id,
                        payload=body,
                        subject=self.subject,
                    )
                )
                ids.append(int(res.inserted_primary_key[0]))
        return ids

    def _record(self, key: str, actor: str, action: str, payload: dict[str, Any], run_id: str | None) -> int:
        return self._insert([key], actor, action, payload, run_id)[0]

    def assign(self, key: str, actor: str, assignee: str, note: str = "", run_id: str | None = None) -> int:
        """Give it to a person or team."""
        return self._record(key, actor, "assign", payload("assign", assignee=assignee, note=note), run_id)

    def acknowledge(self, key: str, actor: str, note: str = "", run_id: str | None = None) -> int:
        """Someone has seen it and owns the next step."""
        return self._record(key, actor, "acknowledge", payload("acknowledge", note=note), run_id)

    def resolve(
        self, key: str, actor: str, reason: str | None, note: str = "", run_id: str | None = None
    ) -> int:
        """Mark fixed with a reason code and a note (both required); the next run confirms or reopens it."""
        return self._record(key, actor, "resolve", payload("resolve", reason=reason, note=note), run_id)

    def comment(self, key: str, actor: str, text: str, run_id: str | None = None) -> int:
        """A note; changes no status."""
        return self._record(key, actor, "comment", payload("comment", text=text), run_id)

    def allowlist(self, key: str, actor: str, until: dt.date, reason: str, run_id: str | None = None) -> int:
        """Accept it until a date (at most a year out): it leaves the queue, then comes back."""
        return self._record(key, actor, "allowlist", payload("allowlist", until=until, reason=reason), run_id)

    def reopen(self, key: str, actor: str, note: str = "", run_id: str | None = None) -> int:
        """Undo a resolution or an allowlist by hand."""
        return self._record(key, actor, "reopen", payload("reopen", note=note), run_id)

    def bulk(
        self,
        action: str,
        keys: list[str],
        actor: str,
        *,
        run_id: str | None = None,
        scope: str = "",
        **fields: Any,
    ) -> list[int]:
        """One action on many keys at once: one audit row per key, each naming the batch it came in.

        `scope` says what the person acted on ("3 selected cases", "group client = Globex"), kept with each row.
        """
        if action not in BULK_ACTIONS:
            raise WorkflowError(f"bulk {action!r} is not offered (only {', '.join(BULK_ACTIONS)})")
        keys = list(dict.fromkeys(keys))  # the same key twice is one action on it
        body = payload(action, **fields)
        body["bulk"] = {"id": uuid.uuid4().hex[:12], "size": len(keys), "scope": _text(scope, "scope")}
        return self._insert(keys, actor, action, body, run_id)

    def _select(self) -> sa.Select:
        return sa.select(audit_log).where(audit_log.c.subject == self.subject)

    def audit(self, key: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Audit entries, newest first, for one key or all."""
        return self.audit_many(None if key is None else [key], limit)

    def audit_many(self, keys: list[str] | None, limit: int = 200) -> list[dict[str, Any]]:
        """Audit entries, newest first, for these keys (None: every key of this subject)."""
        q = self._select().order_by(audit_log.c.id.desc()).limit(limit)
        if keys is not None:
            if not keys:
                return []
            q = q.where(audit_log.c.finding_key.in_(keys))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for r in rows:
            r["payload"] = json.loads(r["payload"] or "{}")
            r["at"] = _utc(r["at"])
        return rows

    def states(self, keys: list[str] | None = None) -> dict[str, State]:
        """Fold the audit log into one State per key that people have touched."""
        q = self._select().order_by(audit_log.c.id)
        if keys is not None:
            if not keys:
                return {}
            q = q.where(audit_log.c.finding_key.in_(keys))
        out: dict[str, State] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                st = out.setdefault(r.finding_key, State(r.finding_key))
                _apply(st, r.action, json.loads(r.payload or "{}"), _utc(r.at))
                st.events.append({"at": _utc(r.at), "actor": r.actor, "action": r.action})
        return out


def payload(action: str, **f: Any) -> dict[str, Any]:
    """What an action records, validated: the message of a WorkflowError says what to change."""
    if action == "assign":
        return {"assignee": _text(f.get("assignee"), "assignee", required=True, limit=200), "note": _note(f)}
    if action in ("acknowledge", "reopen"):
        return {"note": _note(f)}
    if action == "resolve":
        reason = f.get("reason")
        if reason is None or (isinstance(reason, str) and not reason.strip()):
            raise WorkflowError(f"a reason code is required to resolve: choose one of {', '.join(REASONS)}")
        if reason not in REASONS:
            raise WorkflowError(f"reason must be one of {', '.join(REASONS)}")
        note = _text(f.get("note"), "note")
        if note is None:
            raise WorkflowError(
                "a note is required to resolve: say what was done (credit memo, re-bill, fix)"
            )
        return {"reason": reason, "note": note}
    if action == "comment":
        return {"text": _text(f.get("text"), "comment", required=True)}
    if action == "allowlist":
        until, today = f.get("until"), dt.datetime.now(dt.UTC).date()
        if not isinstance(until, dt.date) or until < today:
            raise WorkflowError("allowlist expiry must be a date from today on")
        if until > today + dt.timedelta(days=MAX_ALLOWLIST_DAYS):
            raise WorkflowError(f"allowlist expiry must be within {MAX_ALLOWLIST_DAYS} days")
        return {
            "until": until.isoformat(),
            "reason": _text(f.get("reason"), "allowlist reason", required=True),
        }
    raise WorkflowError(f"unknown action {action!r}")


def _note(f: dict[str, Any]) -> str | None:
    return _text(f.get("note"), "note")


def _apply(st: State, action: str, payload: dict[str, Any], at: dt.datetime) -> None:
    if action == "comment":
        st.comments += 1
        return
    st.last_action_at = at
    if action == "assign":
        st.assignee = payload.get("assignee")
        st.status = "acknowledged" if st.status == "acknowledged" else "assigned"
        st.resolved_at = st.reason = None
    elif action == "acknowledge":
        st.status, st.resolved_at, st.reason = "acknowledged", None, None
    elif action == "resolve":
        st.status, st.resolved_at, st.reason = "resolved", at, payload.get("reason")
    elif action == "allowlist":
        st.allow_until = dt.date.fromisoformat(payload["until"])
    elif action == "reopen":
        st.status = "assigned" if st.assignee else None
        st.resolved_at = st.reason = st.allow_until = None


def overlay(
    states: dict[str, State], run_started_at: dt.datetime | None, today: dt.date
) -> list[tuple[str, str, str, str | None]]:
    """Rows (key, status if open, status if reopened, assignee) for joining in the warehouse query."""
    return [
        (
            k,
            s.effective("open", run_started_at, today),
            s.effective("reopened", run_started_at, today),
            s.assignee,
        )
        for k, s in sorted(states.items())
    ]
