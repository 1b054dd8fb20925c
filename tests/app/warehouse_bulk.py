"""Many more cases on top of tests/app/warehouse.py's published run: enough to page past 500 and to group.

Case i is the money of invoice B-INV-<i>: a rate finding (Q2C-033, leakage, the root cause) and, on every third
invoice, a sync finding (Q2C-070, cash, its symptom). Clients, owner teams, ages and severities vary with i so
every grouping has several groups. Cases are formed by checks/cases.py exactly as a run forms them.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb

from checks.cases import build_cases
from closedloop.warehouse import Warehouse
from tests.app import warehouse

CLIENTS = (
    ("C-100", "Globex Corp"),
    ("C-200", "Initech GmbH"),
    ("C-400", "Umbrella Holdings"),
    ("C-300", None),
)
OWNERS = ("Billing Ops", "Billing Ops EMEA", "Revenue Assurance")
CLOSED_CASE = "c1osed0000000000000000000000case"
HOSTILE_EVIDENCE = '=HYPERLINK("http://evil.example","x") <script>alert(1)</script> **bold**'


def hours(i: int) -> Decimal:
    return Decimal(1 + i % 8)


def under_billed(i: int) -> Decimal:
    """Case i's rate break in its invoice's currency: 63.00 an hour short (463.00 contract, 400.00 billed)."""
    return Decimal("63.00") * hours(i)


def leakage(i: int) -> Decimal:
    """...in USD: GBP invoices (odd i) converted at 1.27."""
    return (under_billed(i) * (Decimal("1.27") if i % 2 else 1)).quantize(Decimal("0.01"))


def evidence(i: int) -> str:
    """Q2C-033's evidence columns for case i (the first case's carries hostile text)."""
    doc = {
        "time_entry_id": f"TE-B-{i}",
        "role": HOSTILE_EVIDENCE if i == 0 else "Senior Consultant",
        "quantity": float(hours(i)),
        "billed_rate": 400.0,
        "contract_rate": 463.0,
        "under_billed_ccy": float(under_billed(i)),
        "currency": "GBP" if i % 2 else "USD",
    }
    if i % 2:
        doc |= {"fx_rate": 1.27, "fx_date": "2026-10-31"}
    return json.dumps(doc)


def add_cases(data_dir: Path, n: int = 620) -> str:
    """Add n invoice cases to the published run (canon + findings), re-form its cases; returns the run file."""
    wh = Warehouse.at(data_dir)
    path = str(wh.published_path())
    con = duckdb.connect(path)
    try:
        con.execute("SET TimeZone = 'UTC'")
        run_id = con.execute("SELECT run_id FROM meta.run LIMIT 1").fetchone()[0]
        as_of_ts = warehouse.ts("2026-11-01", 0)
        con.execute(
            "INSERT INTO canon.client (client_id, name, region, source_system) VALUES ('C-400', 'Umbrella Holdings', 'NA', 'CRM')"
        )
        for k in range(40):
            client = CLIENTS[k % len(CLIENTS)][0]
            con.execute(
                "INSERT INTO canon.sow (sow_id, client_id, status, currency, source_system) VALUES (?, ?, 'executed', 'USD', 'CLM')",
                [f"SOW-B-{k}", client],
            )
            con.execute(
                "INSERT INTO canon.project (project_id, sow_id, client_id, name, currency, source_system) "
                "VALUES (?, ?, ?, ?, 'USD', 'ERP')",
                [f"PRJ-B-{k}", f"SOW-B-{k}", client, f"Programme {k:02d}"],
            )
        for i in range(n):
            k, client = i % 40, CLIENTS[(i % 40) % len(CLIENTS)][0]
            inv, day = f"INV-B-{i}", warehouse.AS_OF - dt.timedelta(days=(i * 7) % 240)
            con.execute(
                "INSERT INTO canon.invoice (invoice_id, erp_invoice_no, client_id, legal_entity_id, sow_id, project_id, "
                "type, status, invoice_date, currency, amount_gross, source_system) "
                "VALUES (?, ?, ?, 'LE-US', ?, ?, 'invoice', 'posted', ?, ?, 10000, 'ERP')",
                [inv, f"B-INV-{i:05d}", client, f"SOW-B-{k}", f"PRJ-B-{k}", day, "GBP" if i % 2 else "USD"],
            )
            rows = [("Q2C-033", "invoice_line", f"IL-B-{i}", "leakage", str(leakage(i)), evidence(i))]
            if i % 3 == 0:
                rows.append(
                    ("Q2C-070", "invoice", inv, "cash", f"{1000 + i}.00", json.dumps({"erp_invoice_no": inv}))
                )
            for cid, etype, eid, kind, amount, details in rows:
                key = f"kb-{cid}-{i}"
                sev = "S1" if i % 7 == 0 else ("S2" if cid == "Q2C-033" else "S3")
                con.execute(
                    "INSERT INTO results.finding (run_id, finding_key, check_id, severity, base_severity, impact_kind, "
                    "impact_rc, entity_type, entity_id, correlation_id, client_id, sow_id, project_id, invoice_id, "
                    "legal_entity_id, event_date, owner_team, first_seen_at, last_seen_at, status, reopened_count, details, "
                    "stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'LE-US', ?, ?, ?, ?, 'open', 0, ?, 'invoice')",
                    [run_id, key, cid, sev, sev, kind, amount, etype, eid, f"CID-B-{i}", client, f"SOW-B-{k}",
                     f"PRJ-B-{k}", inv, day, OWNERS[i % 3], as_of_ts, as_of_ts, details],
                )  # fmt: skip
                con.execute(
                    "INSERT INTO results.finding_history (finding_key, check_id, entity_type, entity_id, correlation_id, "
                    "invoice_id, first_seen_at, last_seen_at, status, reopened_count, last_run_id, severity, impact_rc) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 0, ?, ?, ?)",
                    [key, cid, etype, eid, f"CID-B-{i}", inv, as_of_ts, as_of_ts, run_id, sev, amount],
                )
        con.execute("SET VARIABLE run_id = ?", [run_id])
        con.execute("SET VARIABLE as_of_ts = ?", [as_of_ts])
        build_cases(con, run_id)
        # a case an earlier run closed (every check that found it ran again and found nothing)
        con.execute(
            "INSERT INTO results.case_history (case_key, money_type, money_id, root_check_id, check_ids, first_seen_at, "
            "last_seen_at, resolved_at, reopened_count, status, last_run_id, severity, leakage_rc) "
            "VALUES (?, 'invoice', 'INV-OLD-1', 'Q2C-033', 'Q2C-033', ?, ?, ?, 0, 'resolved', 'r-old', 'S2', 250.00)",
            [CLOSED_CASE, as_of_ts - dt.timedelta(days=9), as_of_ts - dt.timedelta(days=2), as_of_ts],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def case_key(i: int) -> str:
    """The key checks/cases.py gives case i (md5 of its money: the invoice)."""
    import hashlib

    return hashlib.md5(f"invoice|INV-B-{i}".encode()).hexdigest()
