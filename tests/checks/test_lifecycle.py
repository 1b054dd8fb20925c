"""Findings across runs: first seen, resolved, reopened; suppression; gating; params; errors."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from checks.loader import parse_rule
from checks.runner import run_checks
from tests.checks.conftest import build_golden, observe
from tests.checks.firm import AS_OF, cid, ins, ts

PROJECT_010 = dict(
    project_id="P010",
    sow_id="S010",
    client_id="C1",
    legal_entity_id="LE1",
    billing_type="TM",
    currency="USD",
    status="active",
    created_at=ts("2026-11-02 09:00:00"),
    project_role="primary",
    start_date=dt.date(2026, 10, 5),
    end_date=dt.date(2026, 12, 31),
    correlation_id=cid("010"),
)


def _history(path: Path, entity_id: str) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "SELECT status, reopened_count, CAST(first_seen_at AS VARCHAR), CAST(last_seen_at AS VARCHAR), "
            "CAST(resolved_at AS VARCHAR) FROM results.finding_history WHERE check_id = 'Q2C-010' AND entity_id = ?",
            [entity_id],
        ).fetchone()


def test_first_seen_resolved_reopened(tmp_path: Path):
    run1 = tmp_path / "run1.duckdb"
    with duckdb.connect(str(run1)) as con:
        build_golden(con)
        run_checks(con, run_id="r1", as_of=AS_OF)
    assert _history(run1, "S010") == ("open", 0, "2026-11-01 00:00:00+00", "2026-11-01 00:00:00+00", None)

    # Run 2, a week later: the project arrived one run late, so the finding resolves.
    run2 = tmp_path / "run2.duckdb"
    shutil.copy(run1, run2)
    with duckdb.connect(str(run2)) as con:
        ins(con, "project", **PROJECT_010)
        run_checks(con, run_id="r2", as_of=AS_OF + dt.timedelta(days=7), previous=str(run1))
        assert (
            con.execute(
                "SELECT count(*) FROM results.finding WHERE run_id = 'r2' AND entity_id = 'S010'"
            ).fetchone()[0]
            == 0
        )
        assert con.execute("SELECT count(DISTINCT run_id) FROM results.check_run").fetchone()[0] == 2
    assert _history(run2, "S010") == (
        "resolved",
        0,
        "2026-11-01 00:00:00+00",
        "2026-11-01 00:00:00+00",
        "2026-11-08 00:00:00+00",
    )

    # Run 3: the project is cancelled, the finding reopens and keeps its first-seen date.
    run3 = tmp_path / "run3.duckdb"
    shutil.copy(run2, run3)
    with duckdb.connect(str(run3)) as con:
        con.execute("UPDATE canon.project SET status = 'cancelled' WHERE project_id = 'P010'")
        run_checks(con, run_id="r3", as_of=AS_OF + dt.timedelta(days=14), previous=str(run2))
        row = con.execute(
            "SELECT status, reopened_count, CAST(first_seen_at AS VARCHAR) FROM results.finding "
            "WHERE run_id = 'r3' AND check_id = 'Q2C-010' AND entity_id = 'S010'"
        ).fetchone()
    assert row == ("reopened", 1, "2026-11-01 00:00:00+00")
    assert _history(run3, "S010")[:2] == ("reopened", 1)


def test_suppressed_sources_are_not_passed_and_not_resolved():
    con = duckdb.connect()
    build_golden(con)
    run_checks(con, run_id="r1", as_of=AS_OF)
    summary = run_checks(con, run_id="r2", as_of=AS_OF, suppressed_sources={"crm_invoice_status"})
    assert set(summary.by_status("suppressed")) == {"Q2C-070", "Q2C-071", "Q2C-072", "Q2C-103"}
    assert (
        con.execute(
            "SELECT count(*) FROM results.finding WHERE run_id = 'r2' AND check_id = 'Q2C-070'"
        ).fetchone()[0]
        == 0
    )
    assert con.execute(
        "SELECT status FROM results.finding_history WHERE check_id = 'Q2C-070'"
    ).fetchone() == ("open",)
    by_system = run_checks(con, run_id="r3", as_of=AS_OF, suppressed_sources={"CRM"})
    assert "Q2C-001" in by_system.by_status("suppressed")


def test_gating_freshness_suppresses_the_stale_sources_dependents():
    con = duckdb.connect()
    build_golden(con, run_id="g")
    observe(
        con, "g", "netsuite", "*", "freshness", "breach", 300.0, 72.0, newest_change="2026-10-19T00:00:00"
    )
    observe(con, "g", "salesforce", "*", "freshness", "ok", 2.0, 72.0)
    observe(con, "older", "ironclad", "*", "freshness", "breach", 900.0, 72.0)  # another run's verdict
    summary = run_checks(con, run_id="g", as_of=AS_OF)
    assert summary.result("Q2C-105").status == "failed" and summary.result("Q2C-105").row_count == 1
    (row,) = con.execute(
        "SELECT entity_type, entity_id, severity, details FROM results.finding WHERE check_id = 'Q2C-105'"
    ).fetchall()
    assert row[:3] == ("source", "netsuite", "S1")
    evidence = json.loads(row[3])
    assert (evidence["hours_old"], evidence["sla_hours"], evidence["newest_change"]) == (
        300.0,
        72.0,
        "2026-10-19T00:00:00",
    )
    suppressed = set(summary.by_status("suppressed"))
    assert {"Q2C-024", "Q2C-038", "Q2C-070", "Q2C-100"} <= suppressed  # they read netsuite's invoices
    assert "Q2C-010" not in suppressed and summary.result("Q2C-010").status == "failed"


def test_volume_collapse_gates_and_a_doubled_extract_only_warns():
    con = duckdb.connect()
    build_golden(con, run_id="v")
    # salesforce feeds canon.opportunity in this run (the pipeline's snapshot_meta says which source feeds what)
    ins(con, "snapshot_meta", source_system="salesforce", table_name="opportunity", row_count=40,
        extract_status="ok", snapshot_ts=ts("2026-10-31 06:00:00"))  # fmt: skip
    observe(con, "v", "salesforce", "opportunity", "volume", "breach", 40.0, 100.0, ratio=0.4, history=3)
    observe(con, "v", "netsuite", "invoice", "volume", "warning", 400.0, 100.0, ratio=4.0, history=3)
    summary = run_checks(con, run_id="v", as_of=AS_OF)
    assert summary.result("Q2C-106").row_count == 2
    sev = dict(
        con.execute("SELECT entity_id, severity FROM results.finding WHERE check_id = 'Q2C-106'").fetchall()
    )
    assert sev == {"salesforce.opportunity": "S2", "netsuite.invoice": "S4"}
    assert summary.result("Q2C-001").status == "suppressed"  # reads salesforce's opportunities
    assert summary.result("Q2C-024").status == "failed"  # a doubled extract gates nothing


def test_disabled_checks_are_not_run_and_not_passed(tmp_path: Path):
    run1 = tmp_path / "run1.duckdb"
    with duckdb.connect(str(run1)) as con:
        build_golden(con)
        run_checks(con, run_id="d1", as_of=AS_OF)
    run2 = tmp_path / "run2.duckdb"
    shutil.copy(run1, run2)
    with duckdb.connect(str(run2)) as con:
        summary = run_checks(
            con,
            run_id="d2",
            as_of=AS_OF + dt.timedelta(days=7),
            previous=str(run1),
            disabled=["Q2C-010", "Q2C-105"],
        )
        assert summary.result("Q2C-010").status == "disabled" and summary.as_dict()["disabled"] == 2
        assert "Q2C-010" not in summary.by_status("passed")
        assert con.execute(
            "SELECT status, row_count FROM results.check_run WHERE run_id = 'd2' AND check_id = 'Q2C-010'"
        ).fetchone() == ("disabled", 0)
        assert not con.execute(
            "SELECT count(*) FROM results.finding WHERE run_id = 'd2' AND check_id = 'Q2C-010'"
        ).fetchone()[0]
    # not judged a week later: its open finding is neither resolved nor seen again
    assert _history(run2, "S010") == ("open", 0, "2026-11-01 00:00:00+00", "2026-11-01 00:00:00+00", None)
    with duckdb.connect() as con, pytest.raises(ValueError, match="Q2C-999"):
        build_golden(con)
        run_checks(con, run_id="d3", as_of=AS_OF, disabled=["Q2C-999"])


def test_params_override_and_unknown():
    con = duckdb.connect()
    build_golden(con)
    run_checks(con, run_id="p", as_of=AS_OF, params={"Q2C-001.grace_won_to_sow_days": 100})
    got = {
        r[0]
        for r in con.execute("SELECT entity_id FROM results.finding WHERE check_id = 'Q2C-001'").fetchall()
    }
    assert got == {"O011", "O082"}
    with pytest.raises(ValueError, match="nope"):
        run_checks(con, run_id="p2", as_of=AS_OF, params={"nope": 1})


def test_broken_check_is_error_not_passed(tmp_path: Path):
    con = duckdb.connect()
    build_golden(con)
    path = tmp_path / "q2c-999_broken.sql"
    path.write_text(
        "/* ---\nid: Q2C-999\ntitle: t\nseverity: S3\nowner: o\ndomain: d\nsystems: [ERP]\n"
        "description: d\nremediation: r\nimpact_kind: compliance\nstage: invoice\ndepends_on: [invoice]\n--- */\n"
        "SELECT 'x' AS entity_type, 1 / 0 AS entity_id, NULL AS correlation_id FROM canon.nope\n"
    )
    summary = run_checks(con, run_id="e", as_of=AS_OF, checks=[parse_rule(path)])
    assert summary.result("Q2C-999").status == "error"
