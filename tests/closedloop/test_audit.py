"""The audit log (closedloop/audit.py): append-only, read with filters, merged with workflow actions; and
`closedloop audit`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from closedloop import ops
from closedloop.audit import EVENTS, AuditLog
from closedloop.cli import app
from closedloop.cli.audit_cmd import parse_since
from closedloop.workflow import Workflow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cfg(tmp_path) -> Path:
    path = tmp_path / "closedloop.toml"
    path.write_text("[closedloop]\ndata_dir = 'data'\n", encoding="utf-8")
    return path


@pytest.fixture
def log(cfg) -> AuditLog:
    from closedloop import settings

    return AuditLog(settings.load(cfg).ops_url)


def _age(log: AuditLog, days: int) -> None:
    """Move every access event `days` into the past (as if written then): the test's clock, not a sleep."""
    with log.engine.begin() as conn:
        for row in conn.execute(sa.select(ops.access_log.c.id, ops.access_log.c.at)).fetchall():
            at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
            conn.execute(
                ops.access_log.update()
                .where(ops.access_log.c.id == row.id)
                .values(at=at - dt.timedelta(days=days))
            )


def test_the_audit_log_offers_no_way_to_change_or_delete_what_it_holds():
    public = {name for name in dir(AuditLog) if not name.startswith("_")}
    assert public == {"record", "read"}
    source = (ROOT / "closedloop" / "audit.py").read_text(encoding="utf-8")
    assert ".update(" not in source and ".delete(" not in source and "sa.text(" not in source  # inserts only


def test_record_then_read_with_filters(log):
    log.record("fred@corp.test", "view_case", "case-1", {"run_id": "r1"}, ["finance"])
    log.record(
        "fred@corp.test", "export", "cases CSV", {"rows": 12, "filters": {"check": ["Q2C-010"]}}, ["finance"]
    )
    log.record("sam@corp.test", "denied", "findings", {"why": "page not allowed for role"}, ["support"])
    rows = log.read()
    assert [r["event"] for r in rows] == ["denied", "export", "view_case"]  # newest first
    assert all(r["at"].tzinfo is not None for r in rows)
    assert rows[1]["roles"] == "finance" and json.loads(rows[1]["detail"])["rows"] == 12
    assert [r["subject"] for r in log.read(user="FRED@corp.test ")] == ["cases CSV", "case-1"]
    assert [r["actor"] for r in log.read(events=["denied"])] == ["sam@corp.test"]
    assert log.read(since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) == []
    with pytest.raises(ValueError, match="unknown audit event 'deleted'"):
        log.record("x", "deleted")
    assert set(EVENTS) >= {
        "sign_in",
        "sign_out",
        "view_case",
        "view_trace",
        "export",
        "denied",
        "run_request",
    }


def test_workflow_actions_are_read_in_the_same_timeline(log):
    Workflow(log.engine, subject="case").resolve("case-9", "fred@corp.test", "data_entry", "credit memo CM-7")
    log.record("fred@corp.test", "view_case", "case-9")
    rows = log.read(user="fred@corp.test")
    assert {r["event"] for r in rows} == {"view_case", "workflow"}
    wf = next(r for r in rows if r["event"] == "workflow")
    assert wf["subject"] == "resolve case case-9" and "credit memo CM-7" in wf["detail"]
    assert [r["event"] for r in log.read(events=["workflow"])] == ["workflow"]
    assert [r["event"] for r in log.read(events=["view_case"])] == ["view_case"]


def test_since_is_days_or_a_date():
    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    assert parse_since("7d", now) == dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    assert parse_since("2026-11-01", now) == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for bad in ("7", "seven days", "2026-13-01", "-3d"):
        with pytest.raises(ValueError, match="neither a number of days"):
            parse_since(bad, now)


def test_the_cli_reads_the_audit_with_filters(cfg, log):
    log.record("old@corp.test", "sign_in", "http://127.0.0.1:9400")
    _age(log, 10)
    log.record("fred@corp.test", "export", "cases CSV", {"rows": 3}, ["finance"])
    log.record(
        "sam@corp.test", "denied", "export cases CSV", {"why": "action not allowed for role"}, ["support"]
    )
    run = CliRunner(env={"COLUMNS": "250"}).invoke  # a wide terminal: the table keeps each e-mail on one line
    res = run(app, ["audit", "--config", str(cfg), "--json"])
    assert res.exit_code == 0, res.output
    assert [r["actor"] for r in json.loads(res.stdout)] == ["sam@corp.test", "fred@corp.test"]  # 7d default
    res = run(app, ["audit", "--since", "30d", "--config", str(cfg), "--json"])
    assert [r["event"] for r in json.loads(res.stdout)] == ["denied", "export", "sign_in"]
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=11)).date().isoformat()
    res = run(app, ["audit", "--since", day, "--user", "old@corp.test", "--config", str(cfg), "--json"])
    assert [r["event"] for r in json.loads(res.stdout)] == ["sign_in"]
    res = run(app, ["audit", "--event", "denied", "--event", "export", "--config", str(cfg)])
    assert res.exit_code == 0 and "sam@corp.test" in res.stdout and "fred@corp.test" in res.stdout
    assert "old@corp.test" not in res.stdout
    res = run(app, ["audit", "--event", "teleport", "--config", str(cfg)])
    assert res.exit_code == 2 and "not an event" in res.output
    res = run(app, ["audit", "--since", "last week", "--config", str(cfg)])
    assert res.exit_code == 2 and "--since" in res.output


def test_the_cli_writes_safe_csv(cfg, log):
    hostile = '=HYPERLINK("http://evil.test","x")'
    log.record("fred@corp.test", "view_trace", hostile, {"flows": []}, ["finance"])
    res = CliRunner().invoke(app, ["audit", "--csv", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["at", "actor", "roles", "event", "subject", "detail"]
    assert rows[1][1:5] == ["fred@corp.test", "finance", "view_trace", "'" + hostile]


def test_the_cli_does_not_import_polars():
    code = "import sys, closedloop.cli.audit_cmd; assert 'polars' not in sys.modules, 'polars imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
