"""results.case_run: each run's cases per kind, carried into the next run's file; case_history keeps what a pack needs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb

from checks.cases import build_cases
from checks.results import carry_forward, ensure_results

# run, check, kind, severity, amount, entity type, entity id, invoice, event date
FINDINGS = (
    ("r1", "Q2C-033", "leakage", "S2", "300.00", "invoice", "I1", "I1", "2026-10-02"),
    ("r1", "Q2C-038", "leakage", "S1", "300.00", "invoice_line", "L1", "I1", "2026-10-02"),  # same money
    ("r1", "Q2C-070", "cash", "S3", "78500.00", "invoice", "I7", "I7", "2026-10-05"),
    ("r1", "Q2C-102", "compliance", "S2", "999.00", "invoice", "I8", "I8", "2026-10-07"),
    ("r2", "Q2C-033", "leakage", "S2", "450.00", "invoice", "I1", "I1", "2026-10-02"),
    ("r2", "Q2C-070", "cash", "S3", "78500.00", "invoice", "I7", "I7", "2026-10-05"),
)
CHECKS = {"Q2C-033": "leakage", "Q2C-038": "leakage", "Q2C-070": "cash", "Q2C-102": "compliance"}


def _run(path, run_id: str, as_of: dt.date, previous=None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE SCHEMA IF NOT EXISTS canon; CREATE TABLE canon.project(project_id VARCHAR, sow_id VARCHAR)"
    )
    ensure_results(con)
    if previous:
        carry_forward(con, str(previous), run_id)
    for check, kind in CHECKS.items():
        found = any(f[0] == run_id and f[1] == check for f in FINDINGS)
        con.execute(
            "INSERT INTO results.check_run(run_id, check_id, owner, impact_kind, status, stage, as_of)"
            " VALUES (?, ?, 'Billing Ops', ?, ?, 'invoice', ?)",
            [run_id, check, kind, "failed" if found else "passed", as_of],
        )
    for i, (rid, check, kind, sev, amount, etype, eid, inv, event) in enumerate(FINDINGS):
        if rid != run_id:
            continue
        con.execute(
            "INSERT INTO results.finding(run_id, finding_key, check_id, severity, impact_kind, impact_rc,"
            " entity_type, entity_id, invoice_id, client_id, event_date, owner_team, first_seen_at, status, stage)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'C-1', ?, 'Billing Ops', ?, 'open', 'invoice')",
            [run_id, f"f{i}", check, sev, kind, amount, etype, eid, inv, dt.date.fromisoformat(event),
             dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)],
        )  # fmt: skip
    con.execute("SET VARIABLE run_id = ?", [run_id])
    con.execute("SET VARIABLE as_of = ?", [as_of])
    con.execute(
        "SET VARIABLE as_of_ts = ?",
        [dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)],
    )
    build_cases(con, run_id)
    return con


def _by_kind(con, run_id: str) -> dict[str, tuple]:
    return {
        k: (n, amount)
        for k, n, amount in con.execute(
            "SELECT impact_kind, sum(cases), sum(amount_rc) FROM results.case_run WHERE run_id = ? GROUP BY 1",
            [run_id],
        ).fetchall()
    }


def test_each_run_summary_is_its_cases_per_kind_and_travels_to_the_next_run(tmp_path):
    first = _run(tmp_path / "r1.duckdb", "r1", dt.date(2026, 10, 30))
    assert _by_kind(first, "r1") == {
        "leakage": (1, Decimal("300.00")),  # two checks on the same invoice: counted once
        "cash": (1, Decimal("78500.00")),
        "compliance": (1, None),  # a count; the amount affected is not money at stake
    }
    first.close()
    second = _run(tmp_path / "r2.duckdb", "r2", dt.date(2026, 10, 31), previous=tmp_path / "r1.duckdb")
    assert set(r[0] for r in second.execute("SELECT DISTINCT run_id FROM results.case_run").fetchall()) == {
        "r1",
        "r2",
    }
    cases = second.execute(
        "SELECT sum(leakage_rc), sum(cash_rc), count(*) FILTER (WHERE compliance_findings > 0)"
        " FROM results.cases WHERE run_id = 'r2'"
    ).fetchone()
    assert _by_kind(second, "r2") == {"leakage": (1, cases[0]), "cash": (1, cases[1])} and cases[2] == 0
    assert second.execute("SELECT DISTINCT as_of FROM results.case_run WHERE run_id = 'r2'").fetchall() == [
        (dt.date(2026, 10, 31),)
    ]
    # the compliance case closed by r2 keeps its break date, owner, client and count for the month's pack
    closed = second.execute(
        "SELECT status, event_date, owner_team, client_id, compliance_findings, resolved_at FROM results.case_history"
        " WHERE money_id = 'I8'"
    ).fetchone()
    assert closed == (
        "resolved",
        dt.date(2026, 10, 7),
        "Billing Ops",
        "C-1",
        1,
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    )
    second.close()
