"""After each run, post a digest of what is new or worse to the configured webhooks, once per finding."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import httpx
import sqlalchemy as sa

from closedloop import settings as cfgmod
from closedloop.ops import OpsStore, alert_delivery, alert_sent
from closedloop.outcome_alerts import outcome_items
from closedloop.redact import redact_tree

log = logging.getLogger(__name__)
NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Webhook:
    """A digest target; `url` comes from the secrets and is never logged (only `label`, its name and host)."""

    name: str
    format: str
    url: str

    @property
    def label(self) -> str:
        return f"{self.name} ({urlsplit(self.url).hostname or '?'})"


def webhooks(cfg: cfgmod.Config) -> list[Webhook]:
    """The configured webhooks with their URLs from CLOSEDLOOP_ALERTS_<NAME>_URL or secrets.toml [alerts]."""
    where = f"{cfg.path or '<defaults>'}: key 'alerts.webhooks'"
    out = []
    for i, entry in enumerate(cfg.get("alerts", "webhooks")):
        if not isinstance(entry, dict) or set(entry) - {"name", "format"}:
            raise cfgmod.ConfigError(
                f"{where}[{i}]: expected {{name = '...', format = 'json'|'slack'}} (no url: it is a secret)"
            )
        name, fmt = str(entry.get("name", "")), entry.get("format", "json")
        if not NAME_RE.match(name) or fmt not in ("json", "slack"):
            raise cfgmod.ConfigError(
                f"{where}[{i}]: name must be letters, digits or _, format 'json' or 'slack'"
            )
        url = cfgmod.secret("alerts", f"{name}_url")
        env = f"CLOSEDLOOP_ALERTS_{name.upper()}_URL"
        if not url:
            raise cfgmod.ConfigError(f"{where}[{i}]: no URL: set {env} (or [alerts] {name}_url in secrets)")
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:  # never echo it: the path is a secret
            raise cfgmod.ConfigError(
                f"{where}[{i}]: the URL in {env} (or [alerts] {name}_url) is not an http(s) URL with a host"
            )
        out.append(Webhook(name, fmt, url))
    return out


def _allowlisted(cfg: cfgmod.Config, keys: list[str]) -> set[str]:
    """Case keys people allowlisted (closedloop/workflow.py), still in force today; none if it is absent."""
    try:
        from closedloop.case_audit import case_workflow
    except ImportError:  # an install without the workflow module has no allowlists: every case can alert
        return set()
    today = dt.datetime.now(dt.UTC).date()
    states = case_workflow(cfg.ops_url).states(keys) if keys else {}
    return {k for k, st in states.items() if st.allow_until and st.allow_until >= today}


def collect_items(run_file: Path, cfg: cfgmod.Config, report, sent: dict[str, dict]) -> list[dict[str, Any]]:
    """What deserves a message: failed sources, suppressed checks, SLA breaches, cases new or worse in a kind."""
    items: list[dict[str, Any]] = []
    for s in report.sources:
        if s.status == "failed":
            why = [
                *s.errors,
                *(e for e in report.errors if e.startswith(f"source {s.source} failed its data")),
            ]
            items.append(
                {
                    "key": f"source:{s.source}:failed",
                    "kind": "source_failed",
                    "source": s.source,
                    "text": f"source {s.source} failed: {'; '.join(why)[:400] or 'see data health'}",
                }
            )
    if not run_file.is_file():
        return items
    con = duckdb.connect(str(run_file), read_only=True)
    try:
        have = {
            r[0]
            for r in con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
        }
        if "results.check_run" in have:
            sup = [
                r[0]
                for r in con.execute(
                    "SELECT check_id FROM results.check_run WHERE run_id = ? AND status = "
                    "'suppressed' ORDER BY 1",
                    [report.run_id],
                ).fetchall()
            ]
            if sup:
                items.append(
                    {
                        "key": "checks_suppressed",
                        "kind": "checks_suppressed",
                        "text": f"{len(sup)} checks suppressed: {', '.join(sup[:12])}",
                    }
                )
        if "results.monitor" in have:
            for src, stream, mon, val, thr, unit in con.execute(
                "SELECT source, stream, monitor, value, threshold, unit FROM results.monitor WHERE run_id = ?"
                " AND status = 'breach' ORDER BY 1, 2",
                [report.run_id],
            ).fetchall():
                items.append(
                    {
                        "key": f"source:{src}:{mon}:{stream}",
                        "kind": "sla_breach",
                        "source": src,
                        "text": f"{mon} breach on {src}{'' if stream == '*' else '.' + stream}: "
                        f"{val:,.1f} {unit} (limit {thr:,.1f})",
                    }
                )
        if {"results.cases", "results.finding"} <= have:
            items += _case_items(con, cfg, report.run_id, sent)
    finally:
        con.close()
    return items


# kind -> (amount column, its second figure's column and name); compliance has no amount
KIND_AMOUNTS = {
    "leakage": ("leakage_rc", "leakage_expected_rc", "expected loss"),
    "exposure": ("exposure_rc", None, None),
    "cash": ("cash_rc", "cash_cost_rc", "cost of delay"),
}
_CASE_KINDS = """
WITH k AS (
  SELECT case_key, impact_kind, min(severity) AS severity FROM results.finding
  WHERE run_id = ? AND case_key IS NOT NULL AND impact_kind IN ('leakage', 'exposure', 'cash', 'compliance')
  GROUP BY case_key, impact_kind)
SELECT c.case_key, k.impact_kind, k.severity, c.root_check_id, c.money_type, c.money_id, c.correlation_id,
       c.owner_team, c.leakage_rc, c.leakage_expected_rc, c.exposure_rc, c.cash_rc, c.cash_cost_rc,
       c.compliance_findings
FROM results.cases c JOIN k USING (case_key)
WHERE c.run_id = ? AND c.status IN ('open', 'reopened')
ORDER BY k.impact_kind, k.severity, c.case_key
"""


def thresholds(cfg: cfgmod.Config) -> dict[str, Decimal]:
    """The amount at or above which a case's money of each kind is alerted ([alerts] min_<kind>_rc)."""
    return {kind: Decimal(str(cfg.get("alerts", f"min_{kind}_rc"))) for kind in KIND_AMOUNTS}


def _case_items(con, cfg: cfgmod.Config, run_id: str, sent: dict[str, dict]) -> list[dict[str, Any]]:
    """One item per case and kind: new or worse, at an alerted severity or over the kind's threshold.

    A case counts its money once per kind, so the same money found by several checks alerts once; kinds are
    never added together, and compliance (no amount) alerts by severity alone.
    """
    sevs, floors = list(cfg.get("alerts", "severities")), thresholds(cfg)
    res = con.execute(_CASE_KINDS, [run_id, run_id])
    names = [d[0] for d in res.description]
    rows = [dict(zip(names, r, strict=True)) for r in res.fetchall()]
    allow = _allowlisted(cfg, sorted({r["case_key"] for r in rows}))
    out = []
    for r in rows:
        kind, sev = r["impact_kind"], r["severity"]
        amount = r[KIND_AMOUNTS[kind][0]] if kind in KIND_AMOUNTS else None
        over = amount is not None and amount >= floors[kind]
        if r["case_key"] in allow or not (sev in sevs or over):
            continue
        key = f"case:{r['case_key']}:{kind}"
        prev = sent.get(key)
        worse = prev is not None and (
            sev < (prev["severity"] or "S9") or (amount is not None and amount > (prev["impact_rc"] or 0))
        )
        if prev is not None and not worse:
            continue
        corr = f" ({r['correlation_id']})" if r["correlation_id"] else ""
        what = f"{r['root_check_id']} {r['money_type']} {r['money_id']}{corr}"
        if kind in KIND_AMOUNTS:
            figure = f"{kind} ${amount:,.2f}"
            second_col, second_name = KIND_AMOUNTS[kind][1:]
            if second_col and r[second_col] is not None:
                figure += f" ({second_name} ${r[second_col]:,.2f})"
        else:
            figure = f"compliance: {r['compliance_findings'] or 0} broken control(s), no money figure"
        item = {
            "key": key,
            "kind": "case",
            "case_key": r["case_key"],
            "impact_kind": kind,
            "severity": sev,
            "check_id": r["root_check_id"],
            "text": f"{'worse' if worse else 'new'} {sev} case · {figure} · {what} → {r['owner_team'] or 'unowned'}",
        }
        if amount is not None:
            item["impact_rc"] = str(amount)
        out.append(item)
    return out


def payload(fmt: str, cfg: cfgmod.Config, report, items: list[dict]) -> dict:
    """The JSON a webhook receives: a structured digest, or Slack's {text} for incoming webhooks."""
    head = getattr(report, "head", None) or (
        f"closedloop run {report.run_id}: {report.status}{' (published)' if report.published else ''}"
    )
    link = cfg.get("alerts", "app_url")
    if fmt == "slack":
        lines = [f"*{head}* — {len(items)} new or worse", *(f"• {i['text']}" for i in items[:30])]
        if len(items) > 30:
            lines.append(f"… and {len(items) - 30} more")
        if link:
            lines.append(f"<{link}|open closedloop>")
        return {"text": "\n".join(lines)}
    return {
        "run_id": report.run_id,
        "status": report.status,
        "published": report.published,
        "app_url": link or None,
        "items": [{k: v for k, v in i.items()} for i in items],
    }


def post(
    hook: Webhook,
    body: dict,
    *,
    timeout: float,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, int, str | None]:
    """POST with retries on connection errors, timeouts, 429 and 5xx; other 4xx fail at once."""
    error = None
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for attempt in range(1, retries + 2):
            wait = backoff * 2 ** (attempt - 1)
            try:
                resp = client.post(hook.url, json=redact_tree(body))  # vendor errors quoted in items
            except httpx.TransportError as exc:  # refused, reset, timed out: the message has no URL
                error = type(exc).__name__
            else:
                if resp.status_code < 300:
                    return True, attempt, None
                error = f"HTTP {resp.status_code}"
                if resp.status_code != 429 and resp.status_code < 500:
                    return False, attempt, error
                after = resp.headers.get("Retry-After", "")
                wait = min(float(after), 60.0) if after.replace(".", "", 1).isdigit() else wait
            log.warning("webhook %s attempt %d failed: %s", hook.label, attempt, error)
            if attempt <= retries:
                sleep(wait)
    return False, retries + 1, error


def alert_after_run(cfg: cfgmod.Config, report, *, say: Callable[[str], None] | None = None) -> dict:
    """Build the digest for a finished run, post it, and remember what was delivered (ops store)."""
    ops = OpsStore(cfg.ops_url)
    with ops.engine.connect() as conn:
        sent = {
            r.alert_key: {"severity": r.severity, "impact_rc": r.impact_rc, "run_id": r.last_run_id}
            for r in conn.execute(sa.select(alert_sent))
        }
    try:
        found = collect_items(Path(report.warehouse_file), cfg, report, sent)
    except duckdb.Error as exc:  # a run file left unreadable by the failure: the run's own item still goes
        log.warning("run %s: its file cannot be read for the digest: %s", report.run_id, exc)
        found = []
    items = [i for i in found if i["kind"] in ("case", "checks_suppressed") or i["key"] not in sent]
    if all(i["kind"] == "checks_suppressed" for i in items):  # context for a new failure, not news by itself
        items = []
    outcome = outcome_items(report, sent)  # the run's own failure (once) or its recovery: the headline
    items = outcome + items
    healthy = [s.source for s in report.sources if s.status in ("ok", "carried")]
    with ops.engine.begin() as conn:  # a recovered source alerts again the next time it fails
        for src in healthy:
            conn.execute(alert_sent.delete().where(alert_sent.c.alert_key.like(f"source:{src}:%")))
    result = deliver(cfg, report, items, say=say)
    if result["delivered"] and outcome:  # one run:* key at a time: the failure last told, none once recovered
        with ops.engine.begin() as conn:
            conn.execute(alert_sent.delete().where(alert_sent.c.alert_key.like("run:%")))
    if result["delivered"]:
        _remember(ops, report.run_id, [i for i in items if i["kind"] != "run_recovered"], _now())
    return result


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def deliver(
    cfg: cfgmod.Config, report, items: list[dict], *, say: Callable[[str], None] | None = None
) -> dict:
    """Post one digest of `items` to every webhook and record each delivery; nothing to say posts nothing."""
    hooks = webhooks(cfg)
    result = {"items": len(items), "delivered": [], "failed": []}
    if not items or not hooks:
        return result
    ops = OpsStore(cfg.ops_url)
    now = _now()
    a = cfg.values["alerts"]
    for hook in hooks:
        ok, attempts, error = post(
            hook,
            payload(hook.format, cfg, report, items),
            timeout=a["timeout_seconds"],
            retries=a["retries"],
            backoff=a["backoff_seconds"],
        )
        result["delivered" if ok else "failed"].append(hook.name)
        with ops.engine.begin() as conn:
            conn.execute(
                alert_delivery.insert().values(
                    run_id=report.run_id,
                    webhook=hook.label,
                    at=now,
                    status="sent" if ok else "failed",
                    attempts=attempts,
                    items=len(items),
                    error=error,
                )
            )
        if say:
            say(f"alert digest to {hook.label}: {'sent' if ok else 'failed: ' + str(error)}")
    return result


def _remember(ops: OpsStore, run_id: str, items: list[dict], now: dt.datetime) -> None:
    with ops.engine.begin() as conn:
        for i in items:
            if i["kind"] == "checks_suppressed":
                continue
            values = {
                "last_alerted_at": now,
                "last_run_id": run_id,
                "severity": i.get("severity"),
                "impact_rc": Decimal(i["impact_rc"]) if "impact_rc" in i else None,
            }
            done = conn.execute(
                alert_sent.update().where(alert_sent.c.alert_key == i["key"]).values(**values)
            )
            if not done.rowcount:
                conn.execute(alert_sent.insert().values(alert_key=i["key"], first_alerted_at=now, **values))
