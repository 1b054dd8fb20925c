"""Golden defects, batch one: one defect per check with the exact expected findings."""

from __future__ import annotations

import duckdb

from tests.checks.firm import D, cid, engagement, ins, invoice, time_entry, ts


def defects(con: duckdb.DuckDBPyConnection) -> dict[str, set[tuple[str, str]]]:
    """Add one defect per check; return check id -> expected (entity_type, entity_id)."""
    exp: dict[str, set[tuple[str, str]]] = {}

    def want(check: str, et: str, eid: str) -> None:
        exp.setdefault(check, set()).add((et, eid))

    ins(
        con,
        "opportunity",
        opportunity_id="O001",
        client_id="C1",
        is_won=True,
        close_date=D("2026-09-01"),
        amount=30000,
        currency="GBP",
        deal_type="new",
        correlation_id=cid("001"),
    )
    want("Q2C-001", "opportunity", "O001")
    engagement(con, "002", opp={"is_won": False, "stage": "Negotiation"})
    want("Q2C-002", "sow", "S002")
    engagement(con, "003", opp={"amount": 90000})
    want("Q2C-003", "sow", "S003")
    engagement(con, "004", opp={"client_id": "C2"})
    want("Q2C-004", "sow", "S004")
    engagement(con, "005", sow={"signed_date": D("2026-03-10")})
    time_entry(con, "T005", "P005", "2026-03-05", invoice_line_id="X")
    want("Q2C-005", "project", "P005")
    want("Q2C-037", "time_entry", "T005")  # cascade: before the SOW start date
    engagement(
        con, "010", with_project=False, sow={"signed_date": D("2026-10-01"), "start_date": D("2026-10-05")}
    )
    want("Q2C-010", "sow", "S010")
    engagement(con, "010Y", with_project=False, sow={"signed_date": D("2026-10-28")})  # inside SLA
    engagement(con, "011", sow={"status": "draft"})
    time_entry(con, "T011", "P011", "2026-10-26")
    want("Q2C-011", "project", "P011")
    want("Q2C-001", "opportunity", "O011")  # cascade: the draft SOW is no executed paper
    engagement(con, "012", project={"end_date": D("2027-06-30")})
    want("Q2C-012", "project", "P012")
    engagement(con, "013")
    ins(
        con,
        "project",
        project_id="P013b",
        sow_id="S013",
        client_id="C1",
        legal_entity_id="LE1",
        billing_type="TM",
        currency="USD",
        status="active",
        created_at=ts("2026-03-04 09:00:00"),
        project_role="primary",
        start_date=D("2026-03-09"),
        end_date=D("2026-12-31"),
        correlation_id=cid("013"),
    )
    want("Q2C-013", "project", "P013b")
    engagement(con, "020", billing_type="FF")
    con.execute("DELETE FROM canon.billing_schedule WHERE sow_id = 'S020'")
    want("Q2C-020", "project", "P020")
    engagement(con, "021", billing_type="FF")
    con.execute("UPDATE canon.billing_schedule SET amount = 80000 WHERE sow_id = 'S021'")
    want("Q2C-021", "sow", "S021")
    engagement(con, "022", billing_type="MILESTONE")
    ins(
        con,
        "milestone",
        milestone_id="M022",
        sow_id="S022",
        project_id="P022",
        amount=40000,
        due_date=D("2026-12-15"),
        billing_trigger="date",
        correlation_id=cid("022"),
    )
    want("Q2C-022", "milestone", "M022")
    engagement(con, "023")
    time_entry(con, "T023", "P023", "2026-10-27", role="architect")
    want("Q2C-023", "project_role", "P023:architect")
    engagement(con, "024")
    invoice(
        con,
        "I024",
        "024",
        "2026-09-01",
        [dict(line_type="time", source_id="T024", quantity=8, unit_price=150, amount=1200)],
        payment_terms_days=60,
    )
    time_entry(con, "T024", "P024", "2026-08-20", invoice_line_id="I024-L1")
    want("Q2C-024", "invoice", "I024")
    engagement(con, "030", billing_type="MILESTONE")
    ins(
        con,
        "milestone",
        milestone_id="M030",
        sow_id="S030",
        project_id="P030",
        amount=100000,
        due_date=D("2026-09-01"),
        accepted_date=D("2026-09-01"),
        completed_date=D("2026-08-30"),
        billing_trigger="acceptance",
        correlation_id=cid("030"),
    )
    ins(
        con,
        "billing_schedule",
        schedule_line_id="BS030M",
        project_id="P030",
        sow_id="S030",
        bill_date=D("2026-12-15"),
        amount=0,
        currency="USD",
        milestone_id="M030",
        line_type="milestone",
    )
    con.execute("UPDATE canon.billing_schedule SET amount = 100000 WHERE schedule_line_id = 'BS030M'")
    con.execute("UPDATE canon.billing_schedule SET amount = 0 WHERE schedule_line_id = 'BS030'")
    want("Q2C-030", "milestone", "M030")
    engagement(con, "032")
    time_entry(con, "T032", "P032", "2026-06-10", hours=40)
    want("Q2C-032", "project", "P032")
    engagement(con, "32B")
    time_entry(con, "T32B", "P32B", "2026-10-01", approval_status="submitted", approved_at=None)
    want("Q2C-032b", "project", "P32B")
    engagement(con, "033")
    time_entry(con, "T033", "P033", "2026-09-10", invoice_line_id="I033-L1")
    invoice(
        con,
        "I033",
        "033",
        "2026-10-01",
        [dict(line_type="time", source_id="T033", quantity=8, unit_price=120, amount=960)],
    )
    want("Q2C-033", "invoice_line", "I033-L1")
    engagement(con, "035")
    ins(
        con,
        "expense",
        expense_id="EX035",
        project_id="P035",
        expense_date=D("2026-07-01"),
        category="travel",
        amount=900,
        currency="USD",
        billable=True,
        approval_status="approved",
        approved_at=ts("2026-07-02 09:00:00"),
    )
    want("Q2C-035", "expense", "EX035")
    engagement(con, "038")
    time_entry(con, "T038", "P038", "2026-09-02", invoice_line_id="I038a-L1")
    for iid in ("I038a", "I038b"):
        invoice(
            con,
            iid,
            "038",
            "2026-10-01" if iid.endswith("a") else "2026-10-05",
            [dict(line_type="time", source_id="T038", quantity=8, unit_price=150, amount=1200)],
        )
    want("Q2C-038", "billed_item", "time:T038")
    engagement(con, "050", billing_type="TM_CAP", sow={"cap_amount": 1000})
    time_entry(con, "T050", "P050", "2026-09-02", invoice_line_id="I050-L1")
    invoice(
        con,
        "I050",
        "050",
        "2026-10-01",
        [dict(line_type="time", source_id="T050", quantity=8, unit_price=150, amount=1200)],
    )
    want("Q2C-050", "sow", "S050")
    engagement(con, "060", billing_type="FF")
    ins(
        con,
        "amendment",
        amendment_id="AM060",
        sow_id="S060",
        amendment_no=1,
        status="executed",
        signed_date=D("2026-09-01"),
        effective_date=D("2026-09-01"),
        value_delta=20000,
        correlation_id=cid("060"),
    )
    want("Q2C-060", "amendment", "AM060")
    want("Q2C-061", "amendment", "AM060")
    want("Q2C-062", "amendment", "AM060")
    want("Q2C-063", "amendment", "AM060")
    engagement(con, "073", with_project=True)
    ins(
        con,
        "payment",
        payment_id="PAY073",
        client_id="C1",
        legal_entity_id="LE1",
        amount=777,
        currency="USD",
        received_date=D("2026-10-01"),
        correlation_id=cid("073"),
    )
    want("Q2C-073", "payment", "PAY073")
    engagement(con, "074")
    time_entry(con, "T074", "P074", "2026-07-02", invoice_line_id="I074-L1")
    invoice(
        con,
        "I074",
        "074",
        "2026-08-01",
        [dict(line_type="time", source_id="T074", quantity=8, unit_price=150, amount=1200)],
        paid=False,
        crm="open",
    )
    want("Q2C-074", "invoice", "I074")
    engagement(con, "100")
    time_entry(con, "T100", "P100", "2026-09-02", invoice_line_id="I100-L1")
    invoice(
        con,
        "I100",
        "100",
        "2026-10-01",
        [dict(line_type="time", source_id="T100", quantity=8, unit_price=150, amount=1200)],
    )
    invoice(
        con,
        "I100b",
        "100",
        "2026-10-01",
        [
            dict(
                line_type="adjustment",
                source_id=None,
                quantity=1,
                unit_price=1200,
                amount=1200,
                reason_code="dup",
                approved_by="x",
            )
        ],
        source_id="ns-I100",
    )
    want("Q2C-100", "invoice", "I100b")
    return {k: v for k, v in exp.items() if v}
