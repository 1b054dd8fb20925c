"""Kinds of money: a finding's impact_rc is the amount at stake, an estimate is the labelled expected_loss_rc, and a
converted amount shows its currency, local amount, rate and date.

Hand-built cases on the clean golden firm (exact figures), then the tier-s demo firm: no finding on an invoice's or a
payment's money reports $0 at stake (issue 16: "a dead-lettered invoice reports $0 at stake").
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from checks.runner import run_checks
from closedloop.demo import answer, generate_firm
from tests.checks.clean_firm import clean
from tests.checks.firm import AS_OF, cid, engagement, ins, invoice, ts


def _adj(amount: float) -> dict:
    """An approved manual fee line (nothing else objects to it)."""
    return dict(
        line_type="adjustment",
        quantity=1,
        unit_price=amount,
        amount=amount,
        reason_code="fee",
        approved_by="ctrl",
    )


def _event(
    con: duckdb.DuckDBPyConnection, event_id: str, n: str, entity_type: str, entity_id: str, status: str
):
    ins(
        con,
        "integration_event",
        event_id=event_id,
        correlation_id=cid(n),
        idempotency_key=f"{entity_type}:{entity_id}",
        source_system="netsuite",
        target_system="salesforce",
        entity_type=entity_type,
        entity_id=entity_id,
        event_type=f"{entity_type}.posted",
        status=status,
        attempt=6,
        error_message="INVALID_FIELD: Account__c not found",
        created_at=ts("2026-10-12 10:00:00"),
    )


@pytest.fixture(scope="module")
def run() -> duckdb.DuckDBPyConnection:
    """The clean firm plus: a GBP invoice whose invoice.posted event was dead-lettered (never reached CRM), a GBP
    payment whose payment.applied event failed for good, a paid invoice CRM still shows open, and an overdue invoice
    nobody chases."""
    con = duckdb.connect()
    clean(con)
    engagement(con, "M1", ccy="GBP")
    invoice(con, "IDL", "M1", "2026-10-10", [_adj(1000)], ccy="GBP", crm=None, paid=False)
    _event(con, "EV-DL", "M1", "invoice", "IDL", "dead_letter")
    invoice(con, "IPY", "M1", "2026-08-03", [_adj(500)], ccy="GBP")
    _event(con, "EV-PAY", "M1", "payment", "PAY-IPY", "failed")
    engagement(con, "M2")
    invoice(con, "I72", "M2", "2026-08-03", [_adj(1200)], crm="open")  # synced long ago, before the payment
    invoice(
        con, "I72P", "M2", "2026-08-03", [_adj(1000)], paid=False, crm="paid"
    )  # CRM: paid; the ERP: 400 of it
    ins(
        con,
        "payment",
        payment_id="PAY-I72P",
        invoice_id="I72P",
        client_id="C1",
        legal_entity_id="LE1",
        amount=400,
        currency="USD",
        received_date=dt.date(2026, 9, 1),
        applied_date=dt.date(2026, 9, 1),
        correlation_id=cid("M2"),
    )
    engagement(con, "M3")
    invoice(
        con, "I74", "M3", "2026-07-20", [_adj(2000)], paid=False, crm="open"
    )  # 73 days past due, no dunning
    run_checks(con, run_id="money", as_of=AS_OF)
    return con


def _finding(con: duckdb.DuckDBPyConnection, check_id: str, entity_id: str) -> dict:
    row = con.execute(
        "SELECT impact_rc, expected_loss_rc, invoice_id, case_key, details FROM results.finding "
        "WHERE check_id = ? AND entity_id = ?",
        [check_id, entity_id],
    ).fetchone()
    assert row, f"{check_id} found nothing on {entity_id}"
    return dict(zip(("impact_rc", "expected_loss_rc", "invoice_id", "case_key"), row[:4], strict=True)) | {
        "evidence": json.loads(row[4])
    }


def _fx(evidence: dict) -> tuple:
    return (
        evidence["currency"],
        Decimal(str(evidence["amount"])),
        Decimal(str(evidence["fx_rate"])),
        evidence["fx_date"],
    )


def test_a_dead_lettered_invoice_event_carries_the_invoices_amount(run):
    f = _finding(run, "Q2C-104", "EV-DL")
    assert f["impact_rc"] == Decimal("1300.00")  # 1000.00 GBP x 1.30
    assert f["invoice_id"] == "IDL" and f["expected_loss_rc"] is None
    assert _fx(f["evidence"]) == ("GBP", Decimal("1000"), Decimal("1.3"), "2026-10-10")
    lost = _finding(run, "Q2C-070", "IDL")  # the invoice the event never delivered: the same money, one case
    assert lost["impact_rc"] == Decimal("1300.00") and lost["case_key"] == f["case_key"]
    cash, findings = run.execute(
        "SELECT cash_rc, findings FROM results.cases WHERE case_key = ?", [f["case_key"]]
    ).fetchone()
    assert (cash, findings) == (Decimal("1300.00"), 2)


def test_a_failed_payment_event_carries_the_payment_on_its_invoice(run):
    f = _finding(run, "Q2C-104", "EV-PAY")
    assert f["impact_rc"] == Decimal("650.00")  # 500.00 GBP x 1.30, received 2026-08-23
    assert f["invoice_id"] == "IPY"
    assert _fx(f["evidence"]) == ("GBP", Decimal("500"), Decimal("1.3"), "2026-08-23")


def test_a_payment_crm_never_saw_puts_the_settled_amount_at_stake(run):
    f = _finding(run, "Q2C-072", "I72")
    assert f["evidence"]["erp_status"] == "paid" and f["evidence"]["crm_status"] == "open"
    assert f["impact_rc"] == Decimal(
        "1200.00"
    )  # collected in the ERP, invisible in CRM (was 0.00: the open amount)


def test_a_payment_crm_shows_that_never_came_puts_the_open_amount_at_stake(run):
    f = _finding(run, "Q2C-072", "I72P")
    assert f["evidence"]["erp_status"] == "partially_paid" and f["evidence"]["crm_status"] == "paid"
    assert f["impact_rc"] == Decimal("600.00")  # nobody chases the 600.00 still open


def test_a_check_that_estimates_labels_the_estimate(run):
    """Q2C-074: the open amount is at stake; p_leak(days past due) x open is the expected loss, a second figure."""
    f = _finding(run, "Q2C-074", "I74")
    assert (f["impact_rc"], f["expected_loss_rc"]) == (
        Decimal("2000.00"),
        Decimal("300.00"),
    )  # p_leak(73 d) 0.15
    assert _fx(f["evidence"]) == ("USD", Decimal("2000"), Decimal("1"), "2026-07-20")
    assert f["evidence"]["p_leak"] == 0.15
    totals = run.execute(
        "SELECT impact_rc, expected_loss_rc FROM results.check_run WHERE check_id = 'Q2C-074'"
    ).fetchone()
    summed = run.execute(
        "SELECT sum(impact_rc), sum(expected_loss_rc) FROM results.finding WHERE check_id = 'Q2C-074'"
    ).fetchone()
    assert (
        totals == summed and totals[1] < totals[0]
    )  # both figures summed per check, each under its own name


@pytest.fixture(scope="module")
def demo() -> duckdb.DuckDBPyConnection:
    """The tier-s demo firm, run the answer key's fast way."""
    con, _ = answer.run(generate_firm("s"), run_id="demo")
    return con


def test_on_the_demo_firm_no_invoice_or_payment_event_is_zero_at_stake(demo):
    rows = demo.execute(
        "SELECT f.entity_id, f.impact_rc, e.status FROM results.finding f "
        "JOIN canon.integration_event e ON e.event_id = f.entity_id "
        "WHERE f.check_id = 'Q2C-104' AND e.entity_type IN ('invoice', 'payment')"
    ).fetchall()
    assert any(r[2] == "dead_letter" for r in rows)  # the demo firm has dead-lettered invoices
    assert [r for r in rows if r[1] <= 0] == []


def test_on_the_demo_firm_no_payment_status_mismatch_is_zero_at_stake(demo):
    rows = demo.execute(
        "SELECT entity_id, impact_rc, details FROM results.finding WHERE check_id = 'Q2C-072'"
    ).fetchall()
    assert rows and [r for r in rows if r[1] <= 0] == []


# Checks that convert each time entry on its own and show the entries' summed local amount with their one rate: the
# amount at stake is a sum of converted entries, which can differ from amount x fx_rate by a cent per entry.
PER_ENTRY = ("Q2C-011", "Q2C-020", "Q2C-032", "Q2C-032b", "Q2C-034")


def test_on_the_demo_firm_converted_amounts_show_their_rate(demo):
    """Every finding that shows FX evidence converts one local amount with one rate: amount x fx_rate is the amount
    at stake to the cent, and fx_date is a date."""
    rows = demo.execute(
        "SELECT check_id, entity_id, impact_rc, details FROM results.finding "
        "WHERE json_extract_string(details, '$.fx_rate') IS NOT NULL "
        "AND json_extract_string(details, '$.amount') IS NOT NULL AND check_id NOT IN ?",
        [list(PER_ENTRY)],
    ).fetchall()
    assert len({r[0] for r in rows}) >= 25
    bad = []
    for check_id, entity_id, impact, details in rows:
        ev = json.loads(details)
        assert set(ev) >= {"currency", "amount", "fx_rate", "fx_date"}, (check_id, ev)
        got = (Decimal(str(ev["amount"])) * Decimal(str(ev["fx_rate"]))).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
        dt.date.fromisoformat(ev["fx_date"])
        if abs(got) != impact:
            bad.append((check_id, entity_id, impact, ev))
    assert not bad, bad[:5]


def test_on_the_demo_firm_per_entry_conversions_show_their_rate_within_a_cent_an_entry(demo):
    rows = demo.execute(
        "SELECT check_id, impact_rc, details FROM results.finding WHERE check_id IN ? "
        "AND json_extract_string(details, '$.fx_rate') IS NOT NULL",
        [list(PER_ENTRY)],
    ).fetchall()
    assert {r[0] for r in rows} >= {"Q2C-032", "Q2C-032b", "Q2C-034"}
    for check_id, impact, details in rows:
        ev = json.loads(details)
        got = Decimal(str(ev["amount"])) * Decimal(str(ev["fx_rate"]))
        hours = Decimal(str(ev.get("hours") or ev.get("nonbill_hours") or ev.get("billable_hours") or 0))
        assert abs(got - impact) <= Decimal("0.005") * max(hours * 4, 1) + Decimal("0.01"), (check_id, ev)
