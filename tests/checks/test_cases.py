"""Cases (checks/cases.py): findings on the same money form one case, each kind counted once, with a lifecycle.

A small hand-made canon and five hand-made rules whose kind, stage and money part are chosen to exercise the
counting: two cash checks on the same document (an invoice missing in CRM, its dead-lettered event) count it
once; a cash check on another part (the overdue balance) adds; a leakage check's lines add up; a compliance
finding is counted, never priced. Then three runs: first seen kept, resolved when the findings stop and their
checks ran, reopened when they come back, and a suppressed check keeps its case open. Finally, on the golden firm
with records the generator never makes, every finding lands on the money the definition names.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from checks.loader import Check, parse_rule
from checks.runner import run_checks
from closedloop.demo import case_key
from tests.checks.conftest import build_golden
from tests.checks.firm import AS_OF, D, base, cid, engagement, ins, invoice, time_entry, ts

HEADER = """/* ---
id: {id}
title: {title}
severity: S3
owner: AR
domain: cash_crm
systems: [ERP]
description: d
remediation: r
impact_kind: {kind}
stage: {stage}
money: {money}
depends_on: [{depends}]
--- */
"""
RULES = {
    "Q2C-901": (
        "cash",
        "crm",
        "document",
        "invoice, crm_invoice_status",
        "SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id, i.amount_gross AS impact_rc,"
        " i.invoice_id FROM canon.invoice i WHERE NOT EXISTS"
        " (SELECT 1 FROM canon.crm_invoice_status c WHERE c.erp_invoice_no = i.erp_invoice_no)",
    ),
    "Q2C-902": (
        "cash",
        "crm",
        "document",
        "integration_event, invoice",
        "SELECT 'integration_event' AS entity_type, e.event_id AS entity_id, e.correlation_id,"
        " i.amount_gross AS impact_rc, i.invoice_id FROM canon.integration_event e"
        " JOIN canon.invoice i ON i.invoice_id = e.entity_id WHERE e.status = 'dead_letter'",
    ),
    "Q2C-903": (
        "cash",
        "cash",
        "overdue",
        "invoice",
        "SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,"
        " i.amount_gross - coalesce(i.amount_paid, 0) AS impact_rc, i.invoice_id FROM canon.invoice i"
        " WHERE i.due_date < getvariable('as_of') AND i.amount_gross > coalesce(i.amount_paid, 0)",
    ),
    "Q2C-904": (
        "leakage",
        "invoice",
        "document",
        "invoice_line",
        "SELECT 'invoice_line' AS entity_type, l.invoice_line_id AS entity_id, l.correlation_id,"
        " (100 - l.unit_price) * l.quantity AS impact_rc, l.invoice_id FROM canon.invoice_line l"
        " WHERE l.unit_price < 100",
    ),
    "Q2C-905": (
        "compliance",
        "invoice",
        "document",
        "invoice",
        "SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id, i.amount_gross AS impact_rc,"
        " i.invoice_id FROM canon.invoice i WHERE i.po_number IS NULL",
    ),
}
WEEK = dt.timedelta(days=7)


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> list[Check]:
    root = tmp_path_factory.mktemp("rules")
    out = []
    for cid_, (kind, stage, money, depends, sql) in RULES.items():
        path = root / f"{cid_.lower()}.sql"
        path.write_text(
            HEADER.format(id=cid_, title=cid_, kind=kind, stage=stage, money=money, depends=depends)
            + sql
            + "\n"
        )
        out.append(parse_rule(path))
    return out


def _firm(con: duckdb.DuckDBPyConnection) -> None:
    """I1: missing in CRM, its event dead-lettered, 600 of 1000 overdue, two lines under the rate, no PO.
    I2: missing in CRM, nothing else. I3: 300 overdue, nothing else."""
    base(con)
    for n in ("901", "902", "903"):
        engagement(con, n)
    lines = [
        dict(line_type="time", quantity=5, unit_price=90, amount=450),  # 50 under the rate of 100
        dict(line_type="time", quantity=5, unit_price=80, amount=400),  # 100 under
        dict(line_type="time", quantity=1, unit_price=150, amount=150),
    ]
    invoice(con, "I1", "901", "2026-09-01", lines, crm=None, paid=False, amount_paid=400)
    ins(
        con,
        "integration_event",
        event_id="EV1",
        correlation_id=cid("901"),
        idempotency_key="K1",
        source_system="netsuite",
        target_system="salesforce",
        entity_type="invoice",
        entity_id="I1",
        status="dead_letter",
        attempt=6,
        created_at=ts("2026-09-01 11:00:00"),
    )
    line = [dict(line_type="time", quantity=1, unit_price=500, amount=500)]
    invoice(con, "I2", "902", "2026-10-20", line, crm=None, paid=False, po_number="PO-2")
    line = [dict(line_type="time", quantity=2, unit_price=150, amount=300)]
    invoice(con, "I3", "903", "2026-09-01", line, crm="open", paid=False, amount_paid=0, po_number="PO-3")


def _cases(path: Path, run_id: str) -> dict[str, dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT money_id, root_check_id, check_ids, findings, leakage_rc, exposure_rc, cash_rc, "
            "compliance_findings, status, reopened_count, CAST(first_seen_at AS VARCHAR) AS first_seen "
            "FROM results.cases WHERE run_id = ? AND money_type = 'invoice'",
            [run_id],
        ).pl()
    return {r["money_id"]: r for r in rows.iter_rows(named=True)}


def _history(path: Path) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT money_id, status, reopened_count, CAST(first_seen_at AS VARCHAR), CAST(resolved_at AS VARCHAR) "
            "FROM results.case_history WHERE money_type = 'invoice'"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


FIRST = "2026-11-01 00:00:00+00"  # the first run's as_of_ts


def test_amounts_count_once_per_part_and_kind_and_the_case_lifecycle(rules, tmp_path: Path):
    run1 = tmp_path / "run1.duckdb"
    with duckdb.connect(str(run1)) as con:
        _firm(con)
        summary = run_checks(con, run_id="r1", as_of=AS_OF, checks=rules)
    assert summary.by_status("failed") == sorted(RULES)
    # per check the same money is 1000 (901) + 500 (901) + 1000 (902) + 600 + 300 (903): 3400 of cash
    assert summary.impact_by_kind()["cash"] == Decimal("3400.00")
    cases = _cases(run1, "r1")
    assert set(cases) == {"I1", "I2", "I3"}
    i1 = cases["I1"]
    # 901 and 902 measure the whole document (1000): once; the overdue part (600) adds. The lines' leakage
    # (50 + 100) adds up within its check. The compliance finding is counted; its 1000 affected is in no total.
    assert (i1["cash_rc"], i1["leakage_rc"], i1["exposure_rc"]) == (
        Decimal("1600.00"),
        Decimal("150.00"),
        None,
    )
    assert (i1["compliance_findings"], i1["findings"]) == (1, 6)
    assert i1["check_ids"] == "Q2C-901,Q2C-902,Q2C-903,Q2C-904,Q2C-905"
    assert i1["root_check_id"] == "Q2C-904"  # the invoice stage comes before CRM and cash; then the lowest id
    assert (cases["I2"]["cash_rc"], cases["I3"]["cash_rc"]) == (Decimal("500.00"), Decimal("300.00"))
    assert sum(c["cash_rc"] for c in cases.values()) == Decimal("2400.00")
    assert {c["status"] for c in cases.values()} == {"open"} and {
        c["first_seen"] for c in cases.values()
    } == {FIRST}

    # Run 2, a week later: CRM is suppressed (901 says nothing), I1's first line is re-rated, I3 is paid.
    run2 = tmp_path / "run2.duckdb"
    shutil.copy(run1, run2)
    with duckdb.connect(str(run2)) as con:
        con.execute("UPDATE canon.invoice_line SET unit_price = 100 WHERE invoice_line_id = 'I1-L1'")
        con.execute("UPDATE canon.invoice SET amount_paid = 300 WHERE invoice_id = 'I3'")
        summary = run_checks(
            con,
            run_id="r2",
            as_of=AS_OF + WEEK,
            checks=rules,
            previous=str(run1),
            suppressed_sources={"crm_invoice_status"},
        )
    assert summary.by_status("suppressed") == ["Q2C-901"]
    cases = _cases(run2, "r2")
    assert set(cases) == {"I1"}
    i1 = cases["I1"]
    # the document is still counted once, now through 902 alone; first seen is kept
    assert (i1["cash_rc"], i1["leakage_rc"], i1["status"], i1["first_seen"]) == (
        Decimal("1600.00"),
        Decimal("100.00"),
        "open",
        FIRST,
    )
    history = _history(run2)
    assert history["I3"] == ("resolved", 0, FIRST, "2026-11-08 00:00:00+00")  # 903 ran and found nothing
    assert history["I2"] == ("open", 0, FIRST, None)  # its only check was suppressed: not resolved

    # Run 3: CRM is back (I2 still missing there), I1 reaches CRM, a payment on I3 bounces (200 open again).
    run3 = tmp_path / "run3.duckdb"
    shutil.copy(run2, run3)
    with duckdb.connect(str(run3)) as con:
        ins(
            con,
            "crm_invoice_status",
            crm_record_id="CRM-I1",
            erp_invoice_no="INV-I1",
            amount=1000,
            status="open",
        )
        con.execute("UPDATE canon.invoice SET amount_paid = 100 WHERE invoice_id = 'I3'")
        run_checks(con, run_id="r3", as_of=AS_OF + 2 * WEEK, checks=rules, previous=str(run2))
    cases = _cases(run3, "r3")
    assert {k: (c["status"], c["reopened_count"], c["first_seen"]) for k, c in cases.items()} == {
        "I1": ("open", 0, FIRST),
        "I2": ("open", 0, FIRST),
        "I3": ("reopened", 1, FIRST),
    }
    assert cases["I1"]["cash_rc"] == Decimal("1600.00") and cases["I1"]["check_ids"] == (
        "Q2C-902,Q2C-903,Q2C-904,Q2C-905"
    )
    assert cases["I3"]["cash_rc"] == Decimal("200.00")
    assert _history(run3)["I3"] == ("reopened", 1, FIRST, None)


def _more_links(con: duckdb.DuckDBPyConnection) -> None:
    """Records the demo generator never makes: an orphan line and payment naming a missing invoice, a milestone
    accepted before completion, an item billed again on a later invoice with a smaller id, a dead-lettered event
    carrying a SOW."""
    ins(
        con,
        "invoice_line",
        invoice_line_id="LX-1",
        invoice_id="I-GONE",
        line_no=1,
        line_type="fixed",
        amount=10,
    )
    ins(
        con,
        "payment",
        payment_id="PAY-GONE",
        invoice_id="I-GONE",
        amount=10,
        currency="USD",
        received_date=AS_OF,
    )
    ins(
        con,
        "milestone",
        milestone_id="M107",
        sow_id="S107",
        project_id="P107",
        amount=1000,
        status="accepted",
        completed_date=D("2026-10-10"),
        accepted_date=D("2026-10-05"),
        billing_trigger="date",
        correlation_id=cid("107"),
    )
    engagement(con, "139")
    time_entry(con, "T139", "P139", "2026-07-15", invoice_line_id="I139z-L1")
    for iid, day in (("I139z", "2026-08-01"), ("I139a", "2026-09-01")):
        line = [dict(line_type="time", source_id="T139", quantity=8, unit_price=150, amount=1200)]
        invoice(con, iid, "139", day, line)
    ins(
        con,
        "integration_event",
        event_id="EV-S107",
        correlation_id=cid("107"),
        idempotency_key="K-S107",
        source_system="ironclad",
        target_system="netsuite",
        entity_type="sow",
        entity_id="S107",
        status="dead_letter",
        attempt=6,
        created_at=ts("2026-10-01 10:00:00"),
    )


def test_every_finding_lands_on_the_money_the_definition_names():
    con = duckdb.connect()
    build_golden(con)
    _more_links(con)
    run_checks(con, run_id="g", as_of=AS_OF)
    found = con.execute(
        "SELECT f.check_id, f.entity_type, f.entity_id, f.impact_rc, c.money_type, c.money_id, f.case_key "
        "FROM results.finding f JOIN results.cases c ON c.run_id = f.run_id AND c.case_key = f.case_key"
    ).pl()
    named = {
        ("Q2C-103", "invoice_line", "LX-1"): ("invoice", "I-GONE"),
        ("Q2C-103", "payment", "PAY-GONE"): ("invoice", "I-GONE"),
        ("Q2C-107", "milestone", "M107"): ("sow", "S107"),
        ("Q2C-038", "billed_item", "time:T139"): ("invoice", "I139a"),
        ("Q2C-104", "integration_event", "EV-S107"): ("sow", "S107"),
        ("Q2C-104", "integration_event", "EV104"): ("project", "P104"),  # carries a project the ERP lacks
        ("Q2C-101", "idempotency_key", "K101:netsuite"): ("invoice", "I-SRC"),
    }
    money = {
        r[:3]: r[3:]
        for r in found.select("check_id", "entity_type", "entity_id", "money_type", "money_id").rows()
    }
    assert {k: money.get(k) for k in named} == named
    # the answer key's placement (polars over the same records) agrees with the run on every finding
    tables = {t: con.execute(f"SELECT * FROM canon.{t}").pl() for t in case_key.LINK_TABLES}
    placed = case_key.place(tables, found.select("check_id", "entity_type", "entity_id", "impact_rc"))
    j = placed.join(
        found.select("check_id", "entity_type", "entity_id", pl.col("case_key").alias("run")),
        on=[
            "check_id",
            "entity_type",
            "entity_id",
        ],
    )
    assert j.height == found.height > len(named)
    differ = j.filter(pl.col("case_key") != pl.col("run"))
    assert not differ.height, differ.select("check_id", "entity_type", "entity_id", "money_type", "money_id")
