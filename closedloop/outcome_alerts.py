"""Alerts about operations rather than data: a failed or partial run (once per distinct failure, then once when
a run succeeds again) and a config file that stopped parsing under `serve` (once, then once when mended).

What was told lives in the ops store's alert_sent, under `run:<fingerprint>` and `config:<file>` keys, so the
same failure on consecutive runs (or retries, or after a restart of `serve`) does not alert again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from closedloop import settings as cfgmod
from closedloop.ops import OpsStore, alert_sent

log = logging.getLogger(__name__)


def run_reason(report) -> str:
    """One line saying why a run is not ok: its errors, or the sources that failed; '' for an ok run."""
    if report.status == "ok":
        return ""
    if report.errors:
        return "; ".join(dict.fromkeys(report.errors))[:600]
    failed = [s.source for s in report.sources if s.status == "failed"]
    return f"source(s) failed: {', '.join(failed)}" if failed else f"run ended {report.status}"


def fingerprint(status: str, reason: str) -> str:
    """The same failure twice has the same fingerprint: counts, times and ids (digits) do not make it new."""
    norm = re.sub(r"\d+", "#", f"{status}|{reason}")
    return hashlib.sha1(norm.encode()).hexdigest()[:16]


def outcome_items(report, sent: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's headline item: its failure when not already told, or its recovery after a told failure."""
    told = [k for k in sent if k.startswith("run:")]
    if report.status == "ok":
        if not told:
            return []
        return [
            {
                "key": "run:recovered",
                "kind": "run_recovered",
                "text": f"recovered: run {report.run_id} is ok"
                + (f" after failed run {sent[told[0]].get('run_id')}" if sent[told[0]].get("run_id") else ""),
            }
        ]
    reason = run_reason(report)
    key = f"run:{fingerprint(report.status, reason)}"
    if key in sent:
        return []
    return [{"key": key, "kind": f"run_{report.status}", "text": f"run {report.status}: {reason}"}]


@dataclass(frozen=True)
class Event:
    """What a digest about something other than a run is headed with (alerts.payload reads these fields)."""

    head: str
    status: str
    run_id: str | None = None
    published: bool = False


def config_changed(cfg: cfgmod.Config, broken) -> dict | None:
    """Tell the webhooks (of the last good config) that the config broke, or that it parses again; once each."""
    from closedloop.alerts import deliver

    ops = OpsStore(cfg.ops_url)
    key = f"config:{broken.file if broken else cfg.path or '<defaults>'}"[:128]
    with ops.engine.connect() as conn:
        told = conn.execute(sa.select(alert_sent.c.alert_key).where(alert_sent.c.alert_key == key)).first()
    if broken is not None and told is None:
        event = Event(f"closedloop config error in {broken.file}", "config_error")
        text = f"{broken.file} stopped parsing ({broken.error}); `serve` keeps the last good config"
        item = {"key": key, "kind": "config_error", "text": text}
    elif broken is None and told is not None:
        event = Event(f"closedloop config {cfg.path} parses again", "config_ok")
        item = {"key": key, "kind": "config_recovered", "text": f"{cfg.path} parses again: using it"}
    else:
        return None
    result = deliver(cfg, event, [item])
    if result["delivered"]:
        now = dt.datetime.now(dt.UTC)
        with ops.engine.begin() as conn:
            conn.execute(alert_sent.delete().where(alert_sent.c.alert_key == key))
            if broken is not None:
                conn.execute(
                    alert_sent.insert().values(alert_key=key, first_alerted_at=now, last_alerted_at=now)
                )
    return result
