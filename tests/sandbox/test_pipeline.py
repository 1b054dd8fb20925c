"""closedloop.pipeline.run against the sandbox: a fatal vendor fault fails that source, the rest complete,
and the published warehouse stays the last good one."""

from __future__ import annotations

import datetime as dt
import os

from closedloop import pipeline, settings
from closedloop.demo.exports import render_exports
from closedloop.sandbox import PageCaps, parse_fault
from closedloop.sandbox.demo import SANDBOX_CONFIG, through_sandbox
from closedloop.warehouse import Warehouse
from tests.collectors import firm_fixture


def test_fatal_fault_keeps_the_last_good_warehouse(tmp_path):
    render_exports(firm_fixture.build(), tmp_path / "exports")
    as_of = dt.date(2026, 10, 31)
    with through_sandbox(tmp_path, as_of, caps=PageCaps(salesforce=1, ironclad=2)) as (path, sandbox):
        assert path.name == SANDBOX_CONFIG and "CLOSEDLOOP_SALESFORCE_CLIENT_SECRET" in os.environ
        text = path.read_text()
        assert "secret" not in text.replace("sandbox-salesforce", "").lower()  # no secrets in the config
        # the fixture firm's dates are old and its data contracts are not what this test is about
        text = text.replace("\npath = ", "\nfreshness_sla_hours = 0.0\npath = ").replace(
            "[contracts]\n", "[contracts]\nenabled = false\n"
        )
        path.write_text(text)
        cfg = settings.load(path)
        assert {cfg.sources[v]["transport"] for v in ("salesforce", "netsuite", "ironclad")} == {"api"}
        wh = Warehouse.at(cfg.data_dir)
        good = pipeline.run(cfg, with_checks=False)
        assert {s.source: s.status for s in good.sources} == dict.fromkeys(
            ("reference", "salesforce", "ironclad", "netsuite", "middleware"), "ok"
        ), good.errors
        published = wh.published()
        assert good.status == "ok" and published is not None and published["run_id"] == good.run_id

        sandbox.state.faults.faults.append(parse_fault("total_requests@salesforce"))
        bad = pipeline.run(cfg, with_checks=False)
    assert "CLOSEDLOOP_SALESFORCE_CLIENT_SECRET" not in os.environ  # the run's secrets are gone with it
    status = {s.source: s.status for s in bad.sources}
    assert status.pop("salesforce") == "failed" and set(status.values()) == {"ok"}
    assert bad.status == "partial" and not bad.published
    first = next(e for e in bad.errors if "salesforce" in e)
    assert first.startswith("source salesforce, stream account: ")
    assert "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded." in first
    assert wh.published() == published  # the app keeps serving the last good run
