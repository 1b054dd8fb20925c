"""The demo with injected data faults: contracts and monitors catch each one, the checks that depend on
the broken source are suppressed rather than producing false findings, and the digest reaches a webhook."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import threading
import typing

import duckdb
import pytest

from closedloop import pipeline, settings
from closedloop.demo import generate_firm, write_demo
from closedloop.demo.config import write_demo_config
from closedloop.demo.data_faults import FAULTS, DataFaultError, apply

# The rule that reports a monitor's breach (the others are data-contract failures: no finding, a failed source).
REPORTED_BY = {"stale": "Q2C-105", "volume_collapse": "Q2C-106", "dropped_column": "Q2C-109"}
EXTRA = "[monitors]\nvolume_min_history = 2\n[alerts]\nwebhooks = [{name = 'ops', format = 'json'}]\n"


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: typing.ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Receiver.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A small demo firm with two clean published runs (history for the volume monitor)."""
    root = tmp_path_factory.mktemp("demo")
    firm = generate_firm("s", 11, people=30)
    write_demo(firm, root)
    cfg = settings.load(
        write_demo_config(root, dt.date.fromisoformat(str(firm.params["as_of"])), extra=EXTRA)
    )
    for _ in range(2):
        report = pipeline.run(cfg)
        assert report.published, report.errors
    return root


def statuses(report) -> dict[str, str]:
    con = duckdb.connect(report.warehouse_file, read_only=True)
    try:
        return dict(
            con.execute(
                "SELECT check_id, status FROM results.check_run WHERE run_id = ?", [report.run_id]
            ).fetchall()
        )
    finally:
        con.close()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_data_fault_is_caught_and_suppresses_instead_of_alarming(
    fault, baseline, receiver, tmp_path, monkeypatch
):
    root = tmp_path / "demo"
    shutil.copytree(baseline, root)
    monkeypatch.setenv("CLOSEDLOOP_ALERTS_OPS_URL", receiver)
    _Receiver.received.clear()
    cfg = settings.load(root / "closedloop.toml")
    clean = statuses(pipeline.run(cfg))
    assert clean["Q2C-001"] in ("passed", "failed")
    apply(root / "exports", [fault])
    report = pipeline.run(cfg)
    failed = {s.source for s in report.sources if s.status == "failed"}
    assert failed == {"salesforce"}, (fault, report.errors)
    assert report.status == "partial" and not report.published
    after = statuses(report)
    # every check on CRM data is suppressed: no false findings from a broken extract
    for check in ("Q2C-001", "Q2C-002", "Q2C-003", "Q2C-070"):
        assert after[check] == "suppressed", (fault, check, after[check])
    assert after["Q2C-010"] != "suppressed"  # CLM → ERP checks do not depend on the CRM
    if fault in REPORTED_BY:  # a monitor's breach is a finding of its rule, read from the observation
        assert after[REPORTED_BY[fault]] == "failed", (fault, after[REPORTED_BY[fault]])
    digest = json.dumps(_Receiver.received)
    assert "salesforce" in digest, f"{fault}: the digest did not name the failed source"


def test_an_unknown_fault_is_refused(tmp_path):
    with pytest.raises(DataFaultError, match="unknown data fault"):
        apply(tmp_path, ["gremlins"])
