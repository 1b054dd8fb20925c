"""A tiny hand-built canonical firm: clean engagements full of false-positive traps, plus one defect per check."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from checks.loader import SCHEMA_SQL

AS_OF = dt.date(2026, 10, 31)
D = dt.date.fromisoformat


def cid(n: int | str) -> str:
    """A well-formed correlation id (CL- + 10 Crockford characters)."""
    return "CL-" + str(n).rjust(10, "0")


def ts(s: str) -> str:
    """A UTC timestamp literal DuckDB casts to TIMESTAMPTZ."""
    return s + ("" if "+" in s else "+00")


def ins(con: duckdb.DuckDBPyConnection, table: str, **cols: Any) -> None:
    """Insert one row, naming only the columns given (the rest stay NULL)."""
    names = ", ".join(cols)
    marks = ", ".join("?" for _ in cols)
    con.execute(f"INSERT INTO canon.{table} ({names}) VALUES ({marks})", list(cols.values()))


def base(con: duckdb.DuckDBPyConnection) -> None:
    """Schema, calendar, FX, entities, clients, policy matrices."""
    con.execute(SCHEMA_SQL.read_text())
    con.execute("""
        INSERT INTO canon.calendar
        SELECT d, dayofweek(d) NOT IN (0, 6), NULL,
               CAST(sum(CASE WHEN dayofweek(d) NOT IN (0, 6) THEN 1 ELSE 0 END) OVER (ORDER BY d) AS INTEGER)
        FROM (SELECT CAST(range AS DATE) AS d FROM range(DATE '2025-01-01', DATE '2027-12-31', INTERVAL 1 DAY))""")
    for d, ccy, rate in [
        ("2025-01-01", "EUR", 1.10),
        ("2026-07-01", "EUR", 1.20),
        ("2025-01-01", "GBP", 1.30),
    ]:
        ins(con, "fx_rate", rate_date=D(d), from_ccy=ccy, to_ccy="USD", rate=rate)
    ins(con, "legal_entity", legal_entity_id="LE1", country="US", functional_ccy="USD")
    ins(con, "legal_entity", legal_entity_id="LE2", country="DE", functional_ccy="EUR")
    ins(
        con,
        "client",
        client_id="C1",
        crm_account_id="A1",
        erp_customer_id="E1",
        country="US",
        bill_to_country="US",
        tax_exempt=False,
        tax_id="US-1",
        payment_terms_days=30,
    )
    ins(
        con,
        "client",
        client_id="C2",
        crm_account_id="A2",
        erp_customer_id="E2",
        country="DE",
        bill_to_country="DE",
        tax_exempt=False,
        tax_id="DE-1",
        payment_terms_days=30,
    )
    ins(
        con,
        "contract",
        contract_id="K1",
        client_id="C1",
        legal_entity_id="LE1",
        status="executed",
        payment_terms_days=30,
        po_required=False,
        expense_policy_id="POL1",
    )
    ins(
        con,
        "contract",
        contract_id="K2",
        client_id="C2",
        legal_entity_id="LE2",
        status="executed",
        payment_terms_days=30,
        po_required=False,
        expense_policy_id="POL1",
    )
    ins(
        con,
        "rate_card",
        rate_card_id="RC-STD",
        scope="STANDARD",
        role="consultant",
        currency="USD",
        bill_rate=200,
        valid_from=D("2025-01-01"),
    )
    ins(con, "expense_policy_rule", policy_id="POL1", category="travel", allowed=True)
    ins(con, "expense_policy_rule", policy_id="POL1", category="entertainment", allowed=False)
    for bt, crit, method in [
        ("TM", None, "right_to_invoice"),
        ("TM_CAP", None, "input_hours"),
        ("FF", None, "input_cost"),
        ("MILESTONE", None, "output_milestones"),
        ("RETAINER", None, "ratable"),
    ]:
        ins(con, "rev_policy_matrix", billing_type=bt, over_time_criteria=crit, method=method)
    for seller, buyer, rate in [("US", "US", 0.0), ("DE", "DE", 0.19)]:
        ins(
            con,
            "tax_matrix",
            seller_country=seller,
            buyer_country=buyer,
            service_category="consulting",
            buyer_is_business=True,
            expected_rate=rate,
            reverse_charge=False,
            valid_from=D("2025-01-01"),
        )


def engagement(
    con: duckdb.DuckDBPyConnection,
    n: str,
    *,
    billing_type: str = "TM",
    ccy: str = "USD",
    le: str = "LE1",
    client: str = "C1",
    value: float = 100000,
    opp: dict | None = None,
    sow: dict | None = None,
    project: dict | None = None,
    with_project: bool = True,
) -> None:
    """A clean engagement: won opp, executed SOW, project, SOW rate card, revenue contract, schedule."""
    c = cid(n)
    ins(
        con,
        "opportunity",
        **{
            "opportunity_id": f"O{n}",
            "client_id": client,
            "legal_entity_id": le,
            "is_won": True,
            "stage": "Closed Won",
            "close_date": D("2026-03-01"),
            "amount": value,
            "currency": ccy,
            "deal_type": "new",
            "created_at": ts("2026-02-01 09:00:00"),
            "correlation_id": c,
            **(opp or {}),
        },
    )
    ins(
        con,
        "sow",
        **{
            "sow_id": f"S{n}",
            "contract_id": "K1" if le == "LE1" else "K2",
            "opportunity_id": f"O{n}",
            "client_id": client,
            "legal_entity_id": le,
            "status": "executed",
            "signed_date": D("2026-03-02"),
            "start_date": D("2026-03-09"),
            "end_date": D("2026-12-31"),
            "currency": ccy,
            "value": value,
            "billing_type": billing_type,
            "payment_terms_days": 30,
            "expense_rebillable": True,
            "expense_markup_pct": 0.0,
            "correlation_id": c,
            **(sow or {}),
        },
    )
    if with_project:
        ins(
            con,
            "project",
            **{
                "project_id": f"P{n}",
                "sow_id": f"S{n}",
                "client_id": client,
                "legal_entity_id": le,
                "billing_type": billing_type,
                "currency": ccy,
                "start_date": D("2026-03-09"),
                "end_date": D("2026-12-31"),
                "budget_amount": value,
                "budget_hours": 1000,
                "budget_updated_at": ts("2026-03-03 09:00:00"),
                "status": "active",
                "created_at": ts("2026-03-03 09:00:00"),
                "project_role": "primary",
                "practice": "Advisory",
                "region": "NA",
                "payment_terms_days": 30,
                "correlation_id": c,
                **(project or {}),
            },
        )
    ins(
        con,
        "rate_card",
        rate_card_id=f"RC{n}",
        scope="SOW",
        sow_id=f"S{n}",
        role="consultant",
        currency=ccy,
        bill_rate=150,
        valid_from=D("2026-01-01"),
    )
    ins(
        con,
        "revenue_contract",
        sow_id=f"S{n}",
        transaction_price=value,
        tp_updated_at=ts("2026-03-03 09:00:00"),
    )
    if billing_type in ("FF", "MILESTONE", "RETAINER"):
        ins(
            con,
            "billing_schedule",
            schedule_line_id=f"BS{n}",
            project_id=f"P{n}",
            sow_id=f"S{n}",
            bill_date=D("2026-12-15"),
            amount=value,
            currency=ccy,
            line_type="fixed",
            correlation_id=c,
        )


def time_entry(
    con: duckdb.DuckDBPyConnection, tid: str, project: str, day: str, hours: float = 8, **kw: Any
) -> None:
    """A time entry, approved and billable by default."""
    ins(
        con,
        "time_entry",
        **{
            "time_entry_id": tid,
            "project_id": project,
            "resource_id": "R1",
            "role": "consultant",
            "work_date": D(day),
            "hours": hours,
            "billable": True,
            "approval_status": "approved",
            "submitted_at": ts(f"{day} 18:00:00"),
            "approved_at": ts(f"{day} 19:00:00"),
            "cost_rate": 80,
            "resource_legal_entity_id": "LE1",
            **kw,
        },
    )


def invoice(
    con: duckdb.DuckDBPyConnection,
    iid: str,
    n: str,
    day: str,
    lines: list[dict],
    *,
    ccy: str = "USD",
    le: str = "LE1",
    client: str = "C1",
    tax_rate: float = 0.0,
    crm: str | None = "paid",
    paid: bool = True,
    **kw: Any,
) -> float:
    """A posted invoice on engagement n with lines, its CRM record and (optionally) full payment."""
    net = sum(line["amount"] for line in lines)
    gross = round(net * (1 + tax_rate), 2)
    d = D(day)
    row = {
        "invoice_id": iid,
        "erp_invoice_no": f"INV-{iid}",
        "client_id": client,
        "legal_entity_id": le,
        "sow_id": f"S{n}",
        "project_id": f"P{n}",
        "type": "invoice",
        "status": "posted",
        "invoice_date": d,
        "posted_at": ts(f"{day} 10:00:00"),
        "due_date": d + dt.timedelta(days=30),
        "currency": ccy,
        "amount_net": net,
        "tax_amount": gross - net,
        "amount_gross": gross,
        "payment_terms_days": 30,
        "source_system": "netsuite",
        "source_id": f"ns-{iid}",
        "correlation_id": cid(n),
        **kw,
    }
    ins(con, "invoice", **row)
    for k, line in enumerate(lines, 1):
        ins(
            con,
            "invoice_line",
            **{
                "invoice_line_id": f"{iid}-L{k}",
                "invoice_id": iid,
                "line_no": k,
                "tax_rate": tax_rate,
                "service_category": "consulting",
                "correlation_id": cid(n),
                **line,
            },
        )
    if paid:
        ins(
            con,
            "payment",
            payment_id=f"PAY-{iid}",
            invoice_id=iid,
            client_id=row["client_id"],
            legal_entity_id=row["legal_entity_id"],
            amount=gross,
            currency=ccy,
            received_date=d + dt.timedelta(days=20),
            applied_date=d + dt.timedelta(days=20),
            correlation_id=cid(n),
        )
    if crm:
        ins(
            con,
            "crm_invoice_status",
            crm_record_id=f"CRM-{iid}",
            erp_invoice_no=row["erp_invoice_no"],
            amount=gross,
            currency=ccy,
            status=crm,
            paid_amount=gross if crm == "paid" else 0,
            due_date=row["due_date"],
            last_synced_at=ts("2026-10-30 12:00:00"),
            correlation_id=cid(n),
        )
    return gross
