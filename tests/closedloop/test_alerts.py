"""Alerts: a digest of what is new or worse, posted with retries to a real local server, once per finding."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import duckdb
import pytest

from closedloop import alerts, pipeline, settings
from closedloop.case_audit import case_workflow
from closedloop.ops import OpsStore, alert_delivery
from tests.closedloop.test_contracts import DEALS, make_firm

SECRET = "T000/B000/XXXXsecretXXXX"


class Hook:
    """A webhook receiver on 127.0.0.1 that can be down, slow, or up."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.mode, self.bodies, self.server = "up", [], None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/{SECRET}"

    def start(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.mode == "slow":
                    time.sleep(1.0)
                if hook.mode == "reject":
                    self.send_response(400)
                else:
                    hook.bodies.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.stop()


def test_down_then_slow_then_up_is_delivered_and_the_log_shows_only_the_host(hook, caplog):
    target = alerts.Webhook("ops", "json", hook.url)
    waits = []

    def sleep(seconds):  # between attempts: the server comes up slow, then recovers
        waits.append(seconds)
        if len(waits) == 1:
            hook.mode = "slow"
            hook.start()
        else:
            hook.mode = "up"

    with caplog.at_level(logging.WARNING):
        ok, attempts, error = alerts.post(target, {"x": 1}, timeout=0.3, retries=3, backoff=0.01, sleep=sleep)
    assert ok and attempts == 3 and error is None and waits == [0.01, 0.02]
    assert hook.bodies[-1] == {"x": 1}
    assert "ConnectError" in caplog.text and "ReadTimeout" in caplog.text
    assert "127.0.0.1" in caplog.text and SECRET not in caplog.text


def test_a_rejected_post_fails_fast(hook):
    hook.mode = "reject"
    hook.start()
    ok, attempts, error = alerts.post(
        alerts.Webhook("ops", "slack", hook.url), {}, timeout=1, retries=3, backoff=0.01, sleep=lambda s: None
    )
    assert (ok, attempts, error) == (False, 1, "HTTP 400")


def _firm(tmp_path, monkeypatch, hook, **kw):
    monkeypatch.setenv("CLOSEDLOOP_ALERTS_OPS_URL", hook.url)
    extra = "[alerts]\nwebhooks = [{name = 'ops', format = 'json'}]\nretries = 1\nbackoff_seconds = 0.01\n"
    return make_firm(tmp_path, extra=extra, **kw)


def test_a_failed_source_alerts_once_and_again_after_it_recovers(tmp_path, monkeypatch, hook):
    hook.start()
    broken = DEALS + "D2,A3,open,5.00,2026-01-01,2026-01-02\n"  # duplicate key: crm fails its contract
    cfg = _firm(tmp_path, monkeypatch, hook, deals=broken)
    report = pipeline.run(cfg, with_checks=False)
    # one digest: the partial run as its headline (issue 18: every failed or partial run alerts), then why
    assert report.alerts == {"items": 2, "delivered": ["ops"], "failed": []}
    (body,) = hook.bodies
    assert body["run_id"] == report.run_id
    assert [i["kind"] for i in body["items"]] == ["run_partial", "source_failed"]
    assert "id unique" in body["items"][1]["text"] and "id unique" in body["items"][0]["text"]
    assert pipeline.run(cfg, with_checks=False).alerts["items"] == 0  # already told
    cfg = _firm(tmp_path, monkeypatch, hook)
    recovered = pipeline.run(cfg, with_checks=False)
    assert recovered.alerts == {"items": 1, "delivered": ["ops"], "failed": []}  # the recovery, once
    assert (
        hook.bodies[-1]["items"][0]["kind"] == "run_recovered"
        and report.run_id in hook.bodies[-1]["items"][0]["text"]
    )
    assert pipeline.run(cfg, with_checks=False).alerts["items"] == 0
    _firm(tmp_path, monkeypatch, hook, deals=broken)
    assert pipeline.run(cfg, with_checks=False).alerts["delivered"] == ["ops"]  # broke again: news again
    assert len(hook.bodies) == 3


def test_a_webhook_that_stays_down_is_retried_on_the_next_run(tmp_path, monkeypatch, hook):
    cfg = _firm(tmp_path, monkeypatch, hook, deals=DEALS + "D2,A3,open,5.00,2026-01-01,2026-01-02\n")
    report = pipeline.run(cfg, with_checks=False)
    assert report.alerts["failed"] == ["ops"] and report.status == "partial"  # the run's outcome is unchanged
    with OpsStore(cfg.ops_url).engine.connect() as conn:
        (row,) = conn.execute(alert_delivery.select()).fetchall()
    assert row.status == "failed" and row.attempts == 2 and row.webhook == "ops (127.0.0.1)"
    hook.start()
    assert pipeline.run(cfg, with_checks=False).alerts["delivered"] == ["ops"]


def _case_key(money_type: str, money_id: str) -> str:
    return hashlib.md5(f"{money_type}|{money_id}".encode()).hexdigest()


# check, kind, severity, amount, entity type, entity id, invoice
CASE_FINDINGS = (
    ("Q2C-038", "leakage", "S1", "10.00", "invoice", "I1", "I1"),
    ("Q2C-032", "leakage", "S3", "5000.00", "time_entry", "T1", None),
    ("Q2C-032", "leakage", "S3", "50.00", "time_entry", "T2", None),
    ("Q2C-010", "cash", "S2", "90000.00", "sow", "SOW-1", None),
    ("Q2C-070", "cash", "S3", "78500.00", "invoice", "I7", "I7"),  # the same money as the next line:
    ("Q2C-104", "cash", "S3", "78500.00", "integration_event", "E7", "I7"),  # one case, one amount
    ("Q2C-001", "exposure", "S2", "60000.00", "opportunity", "OPP-1", None),
    ("Q2C-102", "compliance", "S1", "999999.00", "invoice", "I8", "I8"),  # an amount affected, not at stake
)


def _cases_run(path) -> None:
    """A run file whose cases are formed by checks.cases.build_cases from the findings above."""
    from checks.cases import build_cases
    from checks.results import ensure_results

    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA canon; CREATE TABLE canon.project(project_id VARCHAR, sow_id VARCHAR)")
    ensure_results(con)
    for check in sorted({f[0] for f in CASE_FINDINGS}):
        kind = next(f[1] for f in CASE_FINDINGS if f[0] == check)
        con.execute(
            "INSERT INTO results.check_run(run_id, check_id, title, owner, impact_kind, status, stage, as_of)"
            " VALUES ('r', ?, ?, 'Billing', ?, 'failed', 'invoice', DATE '2026-10-31')",
            [check, f"title of {check}", kind],
        )
    for i, (check, kind, sev, amount, etype, eid, inv) in enumerate(CASE_FINDINGS):
        con.execute(
            "INSERT INTO results.finding(run_id, finding_key, check_id, severity, impact_kind, impact_rc, entity_type,"
            " entity_id, invoice_id, owner_team, first_seen_at, status, stage)"
            " VALUES ('r', ?, ?, ?, ?, ?, ?, ?, ?, 'Billing', TIMESTAMPTZ '2026-11-01 00:00:00+00', 'open', 'invoice')",
            [f"f{i}", check, sev, kind, amount, etype, eid, inv],
        )
    con.execute("SET VARIABLE run_id = 'r'")
    con.execute("SET VARIABLE as_of_ts = TIMESTAMPTZ '2026-11-01 00:00:00+00'")
    build_cases(con, "r")
    con.close()


def test_cases_alert_per_kind_over_their_own_thresholds(tmp_path):
    cfg = settings.parse(
        {
            "alerts": {"min_leakage_rc": 1000.0, "min_exposure_rc": 100000.0, "min_cash_rc": 50000.0},
            "ops": {"url": f"sqlite:///{tmp_path / 'ops.sqlite'}"},
        },
        None,
    )
    f = tmp_path / "run.duckdb"
    _cases_run(f)
    report = SimpleNamespace(run_id="r", sources=[], status="ok", published=True)
    sow, t1 = _case_key("sow", "SOW-1"), _case_key("time_entry", "T1")
    sent = {
        f"case:{sow}:cash": {"severity": "S2", "impact_rc": 90000},
        f"case:{t1}:leakage": {"severity": "S3", "impact_rc": 1000},
    }
    items = alerts.collect_items(f, cfg, report, sent)
    by_key = {i["key"]: i for i in items}
    assert set(by_key) == {
        f"case:{_case_key('invoice', 'I1')}:leakage",  # S1: alerted by severity though only $10
        f"case:{t1}:leakage",  # worse: $5,000 now, $1,000 when last told
        f"case:{_case_key('invoice', 'I7')}:cash",  # over the cash threshold, once for two checks
        f"case:{_case_key('invoice', 'I8')}:compliance",  # S1 compliance: by severity, no amount
    }  # not: T2 ($50 leakage, S3), SOW-1 (already told), OPP-1 ($60,000 exposure: under exposure's $100,000)
    assert by_key[f"case:{t1}:leakage"]["text"].startswith("worse S3 case · leakage $5,000.00")
    cash = by_key[f"case:{_case_key('invoice', 'I7')}:cash"]
    assert (
        cash["impact_kind"] == "cash"
        and cash["impact_rc"] == "78500.00"
        and "cash $78,500.00" in cash["text"]
    )
    comp = by_key[f"case:{_case_key('invoice', 'I8')}:compliance"]
    assert "impact_rc" not in comp and "$" not in comp["text"] and "no money figure" in comp["text"]
    slack = alerts.payload("slack", cfg, report, items)
    assert set(slack) == {"text"} and "leakage $10.00" in slack["text"] and "999,999" not in slack["text"]
    until = dt.date.today() + dt.timedelta(days=30)
    case_workflow(cfg.ops_url).allowlist(
        _case_key("invoice", "I1"), "ana@firm.example", until, "known timing"
    )
    keys = [i["key"] for i in alerts.collect_items(f, cfg, report, sent)]
    assert f"case:{_case_key('invoice', 'I1')}:leakage" not in keys and len(keys) == 3  # allowlisted: quiet


def test_the_old_single_threshold_is_refused_by_name():
    with pytest.raises(settings.ConfigError, match=r"alerts\.min_impact_rc"):
        settings.parse({"alerts": {"min_impact_rc": 1000.0}}, None)


def test_webhook_urls_are_secrets_not_config(tmp_path):
    cfg = settings.parse({"alerts": {"webhooks": [{"name": "ops", "url": "https://hooks.example/x"}]}}, None)
    with pytest.raises(settings.ConfigError, match="no url: it is a secret"):
        alerts.webhooks(cfg)
    cfg = settings.parse({"alerts": {"webhooks": [{"name": "ops"}]}}, None)
    with pytest.raises(settings.ConfigError, match="CLOSEDLOOP_ALERTS_OPS_URL"):
        alerts.webhooks(cfg)
