"""Every sandbox fault kind, with recognisable secrets set, and every output grepped for them: the logs, run
--json on stdout, stderr, the run ledger in the ops store, the warehouse's meta tables and the alert
payloads a local webhook receives (issue 18, item 2)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import duckdb

from closedloop import pipeline, settings
from closedloop.demo.config import write_demo_config
from closedloop.sandbox import KINDS, Credentials, PageCaps, Sandbox, parse_fault
from closedloop.sandbox.demo import environment
from closedloop.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
CREDS = Credentials(
    salesforce_client_secret="SFSECRET-0c9d8e7f6a5b4c3d",
    netsuite_consumer_secret="NSCONSUMER-1a2b3c4d5e6f7a8b",
    netsuite_token_secret="NSTOKEN-9f8e7d6c5b4a3f2e",
    ironclad_client_secret="ICSECRET-5e4d3c2b1a0f9e8d",
)  # no key pair: NetSuite over token-based auth, where the stale nonce fault applies
HOOK_PATH = "/services/T0HOOKSEC/B0HOOKSEC/WebhookSecretPath42xyz"
# the faults a run recovers from (or records as data / absence), all in force at once
RECOVERABLE = [
    "concurrent_limit@salesforce:every=5",
    "concurrent_limit@netsuite:every=7",
    "rate_limit:every=6,seconds=0.001",
    "server_error:first=2",
    "token_expiry@salesforce:every=5",
    "token_expiry@ironclad:every=5",
    "stale_nonce@netsuite:every=4",
    "slow:every=3,seconds=0.001",
    "truncated:every=9",
    "drift@ironclad:field=counterpartyName,to=counterparty_name",
    "duplicates@netsuite",
    "duplicates@ironclad",
    "permission_denied@netsuite:stream=employee",
]
# the faults that fail a source, in the run made by a real `closedloop run --json` process
FATAL = [
    "echo_credentials@salesforce:first=1",
    "total_requests@salesforce",
    "echo_credentials@ironclad:every=1",
    "job_failed@salesforce",  # Bulk API 2.0 only (tests/sandbox/test_salesforce_bulk.py)
    "server_error@netsuite:every=1",
]


class Receiver(http.server.ThreadingHTTPServer):
    """A local webhook endpoint that keeps every body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.bodies.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def test_every_fault_kind_lists_here():
    used = {parse_fault(s).kind for s in RECOVERABLE + FATAL}
    assert used == set(KINDS), f"fault kinds not exercised: {set(KINDS) - used}"


def _config(tmp_path: Path, sandbox: Sandbox, *, deadline: float) -> Path:
    api = sandbox.source_config(bulk_path="exports/netsuite")
    alerts = '\n[alerts]\nwebhooks = [{name = "ops", format = "slack"}]\nretries = 0\n'
    path = write_demo_config(
        tmp_path,
        dt.date(2026, 10, 31),
        api=api,
        name="closedloop.toml",
        extra=alerts,
        sections={v: {"retry_deadline_seconds": deadline} for v in ("salesforce", "netsuite", "ironclad")},
    )
    text = path.read_text().replace("[contracts]\n", "[contracts]\nenabled = false\n")
    path.write_text(text.replace("\npath = ", "\nfreshness_sla_hours = 0.0\npath = "))
    return path


def _meta_tables(data_dir: Path) -> str:
    """Every row of every meta.* table of every run file, as text (the files compress strings on disk)."""
    out = []
    for f in Warehouse.at(data_dir).runs_dir.glob("*.duckdb"):
        con = duckdb.connect(str(f), read_only=True)
        try:
            for (table,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'meta'"
            ).fetchall():
                out.append(f"{f.name} meta.{table}: {con.execute(f'SELECT * FROM meta.{table}').fetchall()}")
        finally:
            con.close()
    return "\n".join(out)


def _ops_store(data_dir: Path) -> str:
    con = sqlite3.connect(Warehouse.at(data_dir).root.parent / "ops.sqlite")
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def test_every_fault_kind_with_recognisable_secrets_leaks_nothing_anywhere(exports, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    shutil.copytree(exports, tmp_path / "exports")
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{receiver.server_address[1]}{HOOK_PATH}"
    faults = [parse_fault(s) for s in RECOVERABLE]
    try:
        with Sandbox(
            tmp_path / "exports", credentials=CREDS, faults=faults, caps=PageCaps(salesforce=1, ironclad=2)
        ) as sb:
            env = sb.secrets() | {"CLOSEDLOOP_ALERTS_OPS_URL": hook_url}
            with environment(env):
                # run 1, in this process: every recoverable fault at once, logs captured at DEBUG
                cfg = settings.load(_config(tmp_path, sb, deadline=30.0))
                first = pipeline.run(cfg, with_checks=False)
                assert first.status == "ok", first.errors
                fired = {k for (_, status), n in sb.state.counts.items() for k in [status] if n}
                assert {401, 429, 503, 400, 403} <= fired, dict(sb.state.counts)
                # run 2, a real `closedloop run --json` process: the fatal faults, logging at DEBUG to stderr
                sb.state.faults.faults[:] = [parse_fault(s) for s in FATAL]
                _config(tmp_path, sb, deadline=1.0)
                boot = (
                    "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr);"
                    " from closedloop.cli import app; sys.exit(app())"
                )
                proc = subprocess.run(
                    [sys.executable, "-c", boot, "run", "--json", "-c", str(tmp_path / "closedloop.toml")],
                    capture_output=True,
                    text=True,
                    timeout=300,
                    cwd=tmp_path,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
            tokens = set(sb.state.tokens.issued)
    finally:
        receiver.shutdown()
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["status"] in ("partial", "failed"), proc.stderr[-2000:]
    errors = " ".join(doc["errors"])
    # the faults did what they say, and the errors still say why, with the credentials masked
    assert "Received Authorization: ***" in errors or "Authorization: ***" in errors, errors
    assert "TotalRequests" in errors and "retry deadline of 1s" in errors and "HTTP 503" in errors
    assert receiver.bodies, "the failed sources were alerted to the local webhook"
    assert "source ironclad failed" in " ".join(receiver.bodies)
    assert "HTTP Request: POST" in proc.stderr, "httpx's request lines are logged (redacted), not silenced"
    assert len(tokens) >= 4, "the faults made the collectors mint tokens again"

    needles = {
        CREDS.salesforce_client_secret,
        CREDS.netsuite_consumer_secret,
        CREDS.netsuite_token_secret,
        CREDS.ironclad_client_secret,
        HOOK_PATH,
        HOOK_PATH.rsplit("/", 1)[1],
        *tokens,
    }
    haystacks = {
        "logs (run 1)": caplog.text,
        "run 1 report": json.dumps(first.as_dict(), default=str),
        "run 1 errors": " ".join(first.errors),
        "stdout (run --json)": proc.stdout,
        "stderr (logs, run 2)": proc.stderr,
        "ops store": _ops_store(cfg.data_dir),
        "warehouse meta tables": _meta_tables(cfg.data_dir),
        "alert payloads": "\n".join(receiver.bodies),
    }
    for where, text in haystacks.items():
        for needle in needles:
            assert needle not in text, f"{needle[:12]}... appears in {where}"
    for where in ("logs (run 1)", "stderr (logs, run 2)"):
        assert "SELECT" not in haystacks[where], f"a query appears in {where}"
