"""Secrets and tokens never reach the logs, the errors, the warehouse or the ops store."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re

from closedloop import pipeline, settings
from closedloop.demo.exports import render_exports
from closedloop.sandbox import PageCaps, parse_fault
from closedloop.sandbox.demo import through_sandbox
from closedloop.warehouse import Warehouse
from tests.collectors import firm_fixture


def test_a_run_with_token_refreshes_retries_and_a_fatal_error_leaks_nothing(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    render_exports(firm_fixture.build(), tmp_path / "exports")
    with through_sandbox(tmp_path, dt.date(2026, 10, 31), caps=PageCaps(salesforce=1, ironclad=2)) as (
        path,
        sandbox,
    ):
        secrets = {k: v for k, v in os.environ.items() if k.startswith("CLOSEDLOOP_") and len(v) >= 8}
        assert secrets, "the sandbox run sets its dummy secrets in the environment"
        text = path.read_text().replace("[contracts]\n", "[contracts]\nenabled = false\n")
        path.write_text(text.replace("\npath = ", "\nfreshness_sla_hours = 0.0\npath = "))
        cfg = settings.load(path)
        for spec in (
            "token_expiry@salesforce:every=3",
            "token_expiry@ironclad:every=4",
            "server_error@netsuite:first=2",
        ):
            sandbox.state.faults.faults.append(parse_fault(spec))
        ok = pipeline.run(cfg, with_checks=False)
        assert ok.status == "ok", ok.errors
        sandbox.state.faults.faults.append(parse_fault("total_requests@salesforce"))
        bad = pipeline.run(cfg, with_checks=False)
        assert bad.status == "partial"
        tokens = set(sandbox.state.tokens.issued)
        assert len(tokens) >= 4, "the faults made the collectors re-mint tokens"
    needles = {v for v in secrets.values()} | tokens
    # PEM bodies: any 40-char run of a private key is a leak
    needles |= {m for v in secrets.values() for m in re.findall(r"[A-Za-z0-9+/]{40}", v)}
    haystacks = {
        "logs": caplog.text,
        "errors": " ".join(bad.errors + ok.errors),
        "ops store": (Warehouse.at(cfg.data_dir).root.parent / "ops.sqlite").read_bytes().decode("latin-1"),
    }
    for f in Warehouse.at(cfg.data_dir).runs_dir.glob("*.duckdb"):
        haystacks[f.name] = f.read_bytes().decode("latin-1")
    for where, text in haystacks.items():
        for needle in needles:
            assert needle not in text, f"a secret or token appears in {where}"
    assert "SELECT" not in caplog.text  # SOQL/SuiteQL never logged
