"""Reading what people did to cases: the workflow's audit log (closedloop/workflow.py), read-only.

People act on cases; their audit entries carry the case key. The workflow names what a key is with its
`subject` ("case"); a workflow without subjects keeps every entry under one name, so case keys are read
the same way there. Nothing here writes to the log.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterable
from typing import Any

from closedloop.workflow import Workflow

CHUNK = 500  # keys per read: an IN list well under SQLite's bound-variable limit
_CASE_SUBJECT = "subject" in inspect.signature(Workflow.__init__).parameters


def case_workflow(url: str) -> Workflow:
    """The workflow whose keys are case keys."""
    return Workflow(url, subject="case") if _CASE_SUBJECT else Workflow(url)


def trails(wf: Workflow, keys: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Every audit entry of each case, oldest first (at, actor, action, payload)."""
    keys = list(dict.fromkeys(keys))
    out: dict[str, list[dict[str, Any]]] = {}
    many = getattr(wf, "audit_many", None)
    if many is not None:
        rows = []
        for i in range(0, len(keys), CHUNK):
            rows += many(keys[i : i + CHUNK], limit=10**9)
    else:
        rows = [r for k in keys for r in wf.audit(k, limit=10**9)]
    for r in sorted(rows, key=lambda r: r["id"]):
        r["at"] = _utc(r["at"])
        out.setdefault(r["finding_key"], []).append(r)
    return out


def resolved_since(wf: Workflow, since: dt.datetime | None, limit: int = 5000) -> list[dict[str, Any]]:
    """Resolve actions people recorded since a moment (newest first), at most `limit` entries read."""
    rows = wf.audit(None, limit=limit)
    cutoff = _utc(since) if since else None
    return [
        {**r, "at": _utc(r["at"])}
        for r in rows
        if r["action"] == "resolve" and (cutoff is None or _utc(r["at"]) >= cutoff)
    ]


def _utc(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)
