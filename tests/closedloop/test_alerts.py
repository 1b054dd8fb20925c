"""Alerts: a digest of what is new or worse, posted with retries to a real local server, once per finding."""

from __future__ import annotations

import datetime as dt
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
    assert report.alerts == {"items": 1, "delivered": ["ops"], "failed": []}
    (body,) = hook.bodies
    assert body["run_id"] == report.run_id and body["items"][0]["kind"] == "source_failed"
    assert "id unique" in body["items"][0]["text"]
    assert pipeline.run(cfg, with_checks=False).alerts["items"] == 0  # already told
    cfg = _firm(tmp_path, monkeypatch, hook)
    assert pipeline.run(cfg, with_checks=False).alerts["items"] == 0
    _firm(tmp_path, monkeypatch, hook, deals=broken)
    assert pipeline.run(cfg, with_checks=False).alerts["delivered"] == ["ops"]  # broke again: news again
    assert len(hook.bodies) == 2


def test_a_webhook_that_stays_down_is_retried_on_the_next_run(tmp_path, monkeypatch, hook):
    cfg = _firm(tmp_path, monkeypatch, hook, deals=DEALS + "D2,A3,open,5.00,2026-01-01,2026-01-02\n")
    report = pipeline.run(cfg, with_checks=False)
    assert report.alerts["failed"] == ["ops"] and report.status == "partial"  # the run's outcome is unchanged
    with OpsStore(cfg.ops_url).engine.connect() as conn:
        (row,) = conn.execute(alert_delivery.select()).fetchall()
    assert row.status == "failed" and row.attempts == 2 and row.webhook == "ops (127.0.0.1)"
    hook.start()
    assert pipeline.run(cfg, with_checks=False).alerts["delivered"] == ["ops"]


def test_new_and_worse_findings_over_the_threshold(tmp_path):
    cfg = settings.parse({"alerts": {"min_impact_rc": 1000.0}}, None)
    f = tmp_path / "run.duckdb"
    con = duckdb.connect(str(f))
    con.execute(
        "CREATE SCHEMA results; CREATE TABLE results.finding(run_id VARCHAR, finding_key VARCHAR,"
        " check_id VARCHAR, severity VARCHAR, impact_rc DECIMAL(18,2), entity_type VARCHAR,"
        " entity_id VARCHAR, correlation_id VARCHAR, owner_team VARCHAR, status VARCHAR)"
    )
    con.execute(
        "INSERT INTO results.finding VALUES ('r', 'k1', 'Q2C-038', 'S1', 10, 'invoice', 'I1', 'C1', 'Billing', 'open'),"
        " ('r', 'k2', 'Q2C-032', 'S3', 5000, 'time_entry', 'T1', NULL, 'PM', 'open'),"
        " ('r', 'k3', 'Q2C-032', 'S3', 50, 'time_entry', 'T2', NULL, 'PM', 'open'),"
        " ('r', 'k4', 'Q2C-010', 'S2', 9000, 'sow', 'S1', NULL, 'PMO', 'open')"
    )
    con.close()
    report = SimpleNamespace(run_id="r", sources=[], status="ok", published=True)
    sent = {"k4": {"severity": "S2", "impact_rc": 9000}, "k2": {"severity": "S3", "impact_rc": 1000}}
    items = alerts.collect_items(f, cfg, report, sent)
    assert [(i["key"], i["text"].split()[0]) for i in items] == [("k2", "worse"), ("k1", "new")]
    slack = alerts.payload("slack", cfg, report, items)
    assert set(slack) == {"text"} and "Q2C-038" in slack["text"]
    workflow = pytest.importorskip("closedloop.workflow")
    until = dt.date.today() + dt.timedelta(days=30)
    workflow.Workflow(cfg.ops_url).allowlist("k1", "ana@firm.example", until, "known timing difference")
    assert [i["key"] for i in alerts.collect_items(f, cfg, report, sent)] == ["k2"]  # allowlisted: quiet


def test_webhook_urls_are_secrets_not_config(tmp_path):
    cfg = settings.parse({"alerts": {"webhooks": [{"name": "ops", "url": "https://hooks.example/x"}]}}, None)
    with pytest.raises(settings.ConfigError, match="no url: it is a secret"):
        alerts.webhooks(cfg)
    cfg = settings.parse({"alerts": {"webhooks": [{"name": "ops"}]}}, None)
    with pytest.raises(settings.ConfigError, match="CLOSEDLOOP_ALERTS_OPS_URL"):
        alerts.webhooks(cfg)
