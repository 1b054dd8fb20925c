"""The clean golden firm: engagements full of false-positive traps that must raise nothing."""

from __future__ import annotations

import duckdb

from tests.checks.firm import D, base, cid, engagement, ins, invoice, time_entry, ts


def clean(con: duckdb.DuckDBPyConnection) -> None:
    """False-positive traps: amendment (value, end date, new rate mid-engagement), change-order opp,
    partial payment + credit note, multi-currency FF with FX change, expenses at contract markup."""
    base(con)
    engagement(con, "A", value=100000)
    con.execute(
        "UPDATE canon.project SET budget_amount = 150000, budget_updated_at = '2026-06-16 09:00:00+00', "
        "end_date = DATE '2027-03-31' "
        "WHERE project_id = 'PA'"
    )
    con.execute("UPDATE canon.rate_card SET valid_to = DATE '2026-06-30' WHERE rate_card_id = 'RCA'")
    ins(
        con,
        "rate_card",
        rate_card_id="RCA2",
        scope="SOW",
        sow_id="SA",
        role="consultant",
        currency="USD",
        bill_rate=170,
        valid_from=D("2026-07-01"),
    )
    ins(
        con,
        "amendment",
        amendment_id="AMA",
        sow_id="SA",
        amendment_no=1,
        status="executed",
        signed_date=D("2026-06-15"),
        effective_date=D("2026-07-01"),
        value_delta=50000,
        new_end_date=D("2027-03-31"),
        new_rate_card_id="RCA2",
        correlation_id=cid("A"),
    )
    con.execute(
        "UPDATE canon.revenue_contract SET transaction_price = 150000, "
        "tp_updated_at = '2026-06-16 09:00:00+00' WHERE sow_id = 'SA'"
    )
    ins(
        con,
        "opportunity",
        opportunity_id="OA-CO",
        client_id="C1",
        legal_entity_id="LE1",
        is_won=True,
        close_date=D("2026-06-10"),
        amount=50000,
        currency="USD",
        deal_type="change_order",
        parent_sow_id="SA",
        created_at=ts("2026-06-01 09:00:00"),
        correlation_id=cid("A"),
    )
    time_entry(con, "TA1", "PA", "2026-05-12", invoice_line_id="IA1-L1")
    time_entry(con, "TA2", "PA", "2026-07-14", invoice_line_id="IA2-L1")
    time_entry(con, "TA3", "PA", "2026-10-20")  # approved, unbilled, but young
    time_entry(con, "TA4", "PA", "2026-07-15", billable=False)  # non-billable task
    ins(con, "task", task_id="TK-A", project_id="PA", billable=False)
    con.execute("UPDATE canon.time_entry SET task_id = 'TK-A' WHERE time_entry_id = 'TA4'")
    ins(
        con,
        "expense",
        expense_id="EXA1",
        project_id="PA",
        expense_date=D("2026-07-10"),
        category="travel",
        amount=500,
        currency="USD",
        billable=True,
        approval_status="approved",
        approved_at=ts("2026-07-12 09:00:00"),
        invoice_line_id="IA2-L2",
    )
    invoice(
        con,
        "IA1",
        "A",
        "2026-06-01",
        [
            dict(
                line_type="time",
                source_id="TA1",
                quantity=8,
                unit_price=150,
                amount=1200,
                period_start=D("2026-05-01"),
            )
        ],
    )
    invoice(
        con,
        "IA2",
        "A",
        "2026-08-03",
        [
            dict(
                line_type="time",
                source_id="TA2",
                quantity=8,
                unit_price=170,
                amount=1360,
                period_start=D("2026-07-01"),
            ),
            dict(line_type="expense", source_id="EXA1", quantity=1, unit_price=500, amount=500),
        ],
        paid=False,
    )
    ins(
        con,
        "payment",
        payment_id="PAY-IA2",
        invoice_id="IA2",
        client_id="C1",
        legal_entity_id="LE1",
        amount=1500,
        currency="USD",
        received_date=D("2026-08-20"),
        applied_date=D("2026-08-20"),
        correlation_id=cid("A"),
    )
    ins(
        con,
        "invoice",
        invoice_id="CNA",
        erp_invoice_no="CN-A",
        client_id="C1",
        legal_entity_id="LE1",
        sow_id="SA",
        project_id="PA",
        type="credit_note",
        status="posted",
        invoice_date=D("2026-08-25"),
        currency="USD",
        amount_net=-360,
        tax_amount=0,
        amount_gross=-360,
        source_ref="IA2",
        credit_reason_code="pricing",
        posted_at=ts("2026-08-25 10:00:00"),
        source_system="netsuite",
        source_id="ns-CNA",
        correlation_id=cid("A"),
    )
    for period, amount in [("2026-05-01", 1200), ("2026-07-01", 1500)]:
        ins(
            con,
            "revenue_schedule",
            rev_line_id=f"RA-{period}",
            sow_id="SA",
            project_id="PA",
            period=D(period),
            method="right_to_invoice",
            amount=amount,
            posted_at=ts(f"{period} 12:00:00"),
            correlation_id=cid("A"),
        )
    # Multi-currency fixed fee in EUR, invoiced on schedule with 19 % VAT, paid.
    engagement(
        con,
        "B",
        billing_type="FF",
        ccy="EUR",
        le="LE2",
        client="C2",
        value=200000,
        sow={"payment_terms_days": 45},
        project={"payment_terms_days": 45},
    )
    con.execute("UPDATE canon.billing_schedule SET amount = 100000 WHERE schedule_line_id = 'BSB'")
    ins(
        con,
        "billing_schedule",
        schedule_line_id="BSB0",
        project_id="PB",
        sow_id="SB",
        bill_date=D("2026-05-29"),
        amount=100000,
        currency="EUR",
        line_type="fixed",
        correlation_id=cid("B"),
    )
    invoice(
        con,
        "IB1",
        "B",
        "2026-06-01",
        [dict(line_type="fixed", source_id="BSB0", quantity=1, unit_price=100000, amount=100000)],
        ccy="EUR",
        le="LE2",
        client="C2",
        tax_rate=0.19,
        payment_terms_days=45,
    )
    ins(
        con,
        "revenue_schedule",
        rev_line_id="RB1",
        sow_id="SB",
        project_id="PB",
        period=D("2026-06-01"),
        method="input_cost",
        amount=100000,
        posted_at=ts("2026-06-30 12:00:00"),
        correlation_id=cid("B"),
    )
    time_entry(con, "TB1", "PB", "2026-06-02", hours=300, resource_legal_entity_id="LE2")
    # Young won opportunity and an auto-renewal: no paper expected yet.
    ins(
        con,
        "opportunity",
        opportunity_id="O-YOUNG",
        client_id="C1",
        is_won=True,
        close_date=D("2026-10-28"),
        amount=5000,
        currency="USD",
        deal_type="new",
        correlation_id=cid("Y"),
    )
    ins(
        con,
        "opportunity",
        opportunity_id="O-RENEW",
        client_id="C1",
        is_won=True,
        close_date=D("2026-01-28"),
        amount=5000,
        currency="USD",
        deal_type="renewal_auto",
        correlation_id=cid("R"),
    )
