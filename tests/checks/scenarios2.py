"""More golden defects: compliance, master data, cash/CRM, revenue, subcontract, integration."""

from __future__ import annotations

import duckdb

from tests.checks.firm import D, cid, engagement, ins, invoice, time_entry, ts


def _tline(tid: str, amount: float = 1200, price: float = 150, qty: float = 8) -> dict:
    return dict(line_type="time", source_id=tid, quantity=qty, unit_price=price, amount=amount)


def _adj(amount: float = 1200, **kw: object) -> dict:
    return dict(
        line_type="adjustment",
        quantity=1,
        unit_price=amount,
        amount=amount,
        reason_code="fee",
        approved_by="ctrl",
        **kw,
    )


def defects2(con: duckdb.DuckDBPyConnection) -> dict[str, set[tuple[str, str]]]:
    """Add the second batch of defects; return check id -> expected (entity_type, entity_id)."""
    exp: dict[str, set[tuple[str, str]]] = {}

    def want(check: str, et: str, eid: str) -> None:
        exp.setdefault(check, set()).add((et, eid))

    engagement(con, "031", billing_type="MILESTONE")
    con.execute(
        "UPDATE canon.billing_schedule SET milestone_id = 'M031', line_type = 'milestone' WHERE sow_id = 'S031'"
    )
    ins(
        con,
        "milestone",
        milestone_id="M031",
        sow_id="S031",
        project_id="P031",
        amount=100000,
        due_date=D("2026-12-15"),
        accepted_date=D("2026-10-20"),
        completed_date=D("2026-10-19"),
        billing_trigger="acceptance",
        correlation_id=cid("031"),
    )
    invoice(
        con,
        "I031",
        "031",
        "2026-10-01",
        [dict(line_type="milestone", source_id="M031", quantity=1, unit_price=100000, amount=100000)],
    )
    want("Q2C-031", "invoice_line", "I031-L1")
    engagement(con, "034")
    ins(con, "task", task_id="TK034", project_id="P034", billable=True)
    time_entry(con, "T034", "P034", "2026-10-26", hours=10, billable=False, task_id="TK034")
    want("Q2C-034", "task", "TK034")
    engagement(con, "036")
    ins(
        con,
        "expense",
        expense_id="EX036",
        project_id="P036",
        expense_date=D("2026-09-01"),
        category="entertainment",
        amount=300,
        currency="USD",
        billable=True,
        approval_status="approved",
        approved_at=ts("2026-09-02 09:00:00"),
        invoice_line_id="I036-L1",
    )
    invoice(
        con,
        "I036",
        "036",
        "2026-09-10",
        [dict(line_type="expense", source_id="EX036", quantity=1, unit_price=300, amount=300)],
    )
    want("Q2C-036", "invoice_line", "I036-L1")
    engagement(con, "040", project={"currency": "EUR"})
    want("Q2C-040", "project", "P040")
    engagement(con, "041", project={"legal_entity_id": "LE2"})
    want("Q2C-041", "project", "P041")
    engagement(con, "042")
    time_entry(con, "T042", "P042", "2026-09-02", invoice_line_id="I042-L1")
    invoice(con, "I042", "042", "2026-10-01", [_tline("T042")], tax_rate=0.05)
    want("Q2C-042", "invoice_line", "I042-L1")
    ins(con, "client", client_id="C3", crm_account_id="A3", country="US", bill_to_country="US")
    want("Q2C-043", "crm_account", "A3")
    engagement(con, "045")
    time_entry(con, "T045", "P045", "2026-10-26", resource_legal_entity_id="LE2")
    want("Q2C-045", "project", "P045")
    engagement(con, "045Y")  # intercompany agreement in place: no finding
    time_entry(con, "T045Y", "P045Y", "2026-10-28", resource_legal_entity_id="LE2")
    ins(
        con,
        "intercompany_agreement",
        supplier_le="LE2",
        buyer_le="LE1",
        valid_from=D("2026-10-27"),
        valid_to=D("2026-12-31"),
    )
    engagement(con, "051", sow={"end_date": D("2026-06-30")}, project={"end_date": D("2026-06-30")})
    invoice(con, "I051", "051", "2026-09-01", [_adj(period_start=D("2026-08-01"))])
    want("Q2C-051", "invoice_line", "I051-L1")
    engagement(con, "052")
    invoice(con, "I052", "052", "2026-09-01", [_adj()], ccy="EUR")
    want("Q2C-052", "invoice", "I052")
    engagement(con, "053", billing_type="FF")
    con.execute("UPDATE canon.billing_schedule SET bill_date = DATE '2026-09-15' WHERE sow_id = 'S053'")
    want("Q2C-053", "schedule_line", "BS053")
    engagement(con, "055", sow={"po_number": "PO-1"})
    invoice(con, "I055", "055", "2026-09-01", [_adj()])
    want("Q2C-055", "invoice", "I055")
    engagement(con, "056")
    invoice(con, "I056", "056", "2026-09-01", [_tline("T-NOPE")])
    want("Q2C-056", "invoice_line", "I056-L1")
    engagement(con, "064", billing_type="FF", project={"budget_hours": 100})
    con.execute("UPDATE canon.billing_schedule SET bill_date = DATE '2027-01-15' WHERE sow_id = 'S064'")
    time_entry(con, "T064", "P064", "2026-10-26", hours=200)
    want("Q2C-064", "project", "P064")
    engagement(con, "070")
    invoice(con, "I070", "070", "2026-09-01", [_adj()], crm=None)
    want("Q2C-070", "invoice", "I070")
    engagement(con, "071")
    invoice(con, "I071", "071", "2026-09-01", [_adj()], crm=None)
    ins(
        con,
        "crm_invoice_status",
        crm_record_id="CRM-I071",
        erp_invoice_no="INV-I071",
        amount=1000,
        currency="USD",
        status="paid",
        paid_amount=1000,
        due_date=D("2026-10-01"),
        last_synced_at=ts("2026-10-30 12:00:00"),
    )
    want("Q2C-071", "invoice", "I071")
    engagement(con, "072")
    invoice(con, "I072", "072", "2026-10-10", [_adj()], paid=False, crm="paid")
    want("Q2C-072", "invoice", "I072")
    engagement(con, "075")
    ins(
        con,
        "invoice",
        invoice_id="CN075",
        erp_invoice_no="CN-075",
        client_id="C1",
        legal_entity_id="LE1",
        sow_id="S075",
        project_id="P075",
        type="credit_note",
        status="posted",
        invoice_date=D("2026-09-01"),
        currency="USD",
        amount_net=-100,
        tax_amount=0,
        amount_gross=-100,
        correlation_id=cid("075"),
        source_system="netsuite",
        source_id="ns-CN075",
    )
    want("Q2C-075", "invoice", "CN075")
    engagement(con, "076")
    invoice(con, "I076", "076", "2026-09-01", [_adj()], paid=False)
    ins(
        con,
        "payment",
        payment_id="PAY076",
        invoice_id="I076",
        client_id="C2",
        legal_entity_id="LE1",
        amount=1200,
        currency="USD",
        received_date=D("2026-09-20"),
        applied_date=D("2026-09-20"),
        correlation_id=cid("076"),
    )
    want("Q2C-076", "payment", "PAY076")
    for n, bt, method, amount, period in [
        ("080", "FF", "right_to_invoice", 1000, "2026-10-01"),
        ("081", "FF", "input_cost", 120000, "2026-10-01"),
        ("083", "MILESTONE", "output_milestones", 50000, "2026-05-01"),
    ]:
        engagement(con, n, billing_type=bt)
        ins(
            con,
            "revenue_schedule",
            rev_line_id=f"R{n}",
            sow_id=f"S{n}",
            project_id=f"P{n}",
            period=D(period),
            method=method,
            amount=amount,
            posted_at=ts(f"{period} 12:00:00"),
            correlation_id=cid(n),
        )
        want(f"Q2C-{n}", "sow", f"S{n}")
    engagement(con, "082", sow={"status": "draft"})
    ins(
        con,
        "revenue_schedule",
        rev_line_id="R082",
        sow_id="S082",
        project_id="P082",
        period=D("2026-10-01"),
        method="right_to_invoice",
        amount=500,
        posted_at=ts("2026-10-02 12:00:00"),
        correlation_id=cid("082"),
    )
    want("Q2C-082", "sow", "S082")
    want("Q2C-001", "opportunity", "O082")  # cascade: draft SOW
    engagement(con, "084")
    ins(
        con,
        "revenue_schedule",
        rev_line_id="R084",
        sow_id="S084",
        project_id="P084",
        period=D("2026-09-01"),
        method="right_to_invoice",
        amount=1000,
        posted_at=ts("2026-10-15 12:00:00"),
        correlation_id=cid("084"),
    )
    ins(con, "period_lock", period=D("2026-09-01"), lock_ts=ts("2026-10-10 00:00:00"))
    want("Q2C-084", "rev_line", "R084")
    for n in ("090", "091", "092", "093"):
        engagement(
            con, n, billing_type="FF" if n == "093" else "TM", project={"budget_subcontract_cost": 1000}
        )
        if n == "093":
            con.execute(
                "UPDATE canon.billing_schedule SET bill_date = DATE '2027-01-15' WHERE sow_id = 'S093'"
            )
        if n != "090":
            ins(
                con,
                "subcontract",
                subcontract_id=f"SC{n}",
                vendor_id="V1",
                project_id=f"P{n}",
                sow_id=f"S{n}",
                cap_amount=1000 if n == "091" else 5000,
                currency="USD",
                valid_from=D("2026-01-01"),
                valid_to=D("2026-12-31"),
                status="executed",
                rebillable=n == "092",
                markup_pct=0.1,
            )
        ins(
            con,
            "vendor_bill",
            vendor_bill_id=f"VB{n}",
            vendor_id="V1",
            project_id=f"P{n}",
            subcontract_id=None if n == "090" else f"SC{n}",
            bill_date=D("2026-08-01"),
            amount=1500 if n == "091" else 2000 if n == "093" else 1000,
            currency="USD",
            correlation_id=cid(n),
        )
    want("Q2C-090", "vendor_bill", "VB090")
    want("Q2C-091", "subcontract", "SC091")
    want("Q2C-092", "vendor_bill", "VB092")
    want("Q2C-093", "project", "P093")
    for eid, target in [("EV1", "I-X1"), ("EV2", "I-X2")]:
        ins(
            con,
            "integration_event",
            event_id=eid,
            correlation_id=cid("101"),
            idempotency_key="K101",
            source_system="middleware",
            target_system="netsuite",
            entity_type="invoice",
            entity_id="I-SRC",
            target_entity_id=target,
            status="success",
            attempt=1,
            created_at=ts("2026-10-01 10:00:00"),
        )
    want("Q2C-101", "idempotency_key", "K101:netsuite")
    engagement(con, "102", project={"correlation_id": "BAD-ID"})
    want("Q2C-102", "project", "P102")
    time_entry(con, "T103", "P-GONE", "2026-10-26")
    want("Q2C-103", "time_entry", "T103")
    ins(
        con,
        "integration_event",
        event_id="EV104",
        correlation_id=cid("104"),
        idempotency_key="K104",
        source_system="middleware",
        target_system="netsuite",
        entity_type="project",
        entity_id="P104",
        status="dead_letter",
        attempt=6,
        created_at=ts("2026-10-20 10:00:00"),
    )
    ins(
        con,
        "integration_event",
        event_id="EV104Y",
        correlation_id=cid("104"),
        idempotency_key="K104Y",
        source_system="middleware",
        target_system="netsuite",
        entity_type="project",
        entity_id="P104",
        status="failed",
        attempt=1,
        created_at=ts("2026-10-20 10:00:00"),
    )
    ins(
        con,
        "integration_event",
        event_id="EV104Z",
        correlation_id=cid("104"),
        idempotency_key="K104Y",
        source_system="middleware",
        target_system="netsuite",
        entity_type="project",
        entity_id="P104",
        status="success",
        attempt=2,
        created_at=ts("2026-10-20 11:00:00"),
    )  # retried OK: EV104Y is not a finding
    want("Q2C-104", "integration_event", "EV104")
    engagement(con, "107")
    time_entry(con, "T107", "P107", "2026-10-26", approved_at=ts("2026-10-26 08:00:00"))
    want("Q2C-107", "time_entry", "T107")
    return exp
