"""A small published warehouse by hand: two flows across CRM, CLM, ERP and middleware, two runs of results."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

from checks.cases import build_cases
from checks.results import ensure_results
from closedloop.contracts import CONTRACT_DDL
from closedloop.monitors import MONITOR_DDL
from closedloop.warehouse import SCHEMAS, Warehouse, new_run_id

SCHEMA_SQL = Path(__file__).resolve().parents[2] / "closedloop" / "canon" / "schema.sql"
AS_OF = dt.date(2026, 10, 31)
HOSTILE_ID = "x'; DROP TABLE results.finding; --"
HOSTILE_CLIENT = "O'Brien & <b>Sons</b> **Ltd** 🚀"


def ts(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def _ins(con: duckdb.DuckDBPyConnection, table: str, **values) -> None:
    cols = ", ".join(values)
    con.execute(
        f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(values))})", list(values.values())
    )


def _canon(con: duckdb.DuckDBPyConnection) -> None:
    snap = ts("2026-10-31", 6)
    for le, name, ccy in (("LE-US", "Acme Consulting Inc.", "USD"), ("LE-UK", "Acme Consulting Ltd", "GBP")):
        _ins(
            con, "canon.legal_entity", legal_entity_id=le, name=name, functional_ccy=ccy, source_system="ERP"
        )
    for cid, name, region in (
        ("C-100", "Globex Corp", "NA"),
        ("C-200", "Initech GmbH", "EMEA"),
        ("C-300", HOSTILE_CLIENT, "EMEA"),
    ):
        _ins(
            con,
            "canon.client",
            client_id=cid,
            name=name,
            region=region,
            source_system="CRM",
            snapshot_ts=snap,
        )
    # Flow 1: a healthy-looking engagement whose invoice was billed at the wrong rate.
    c1 = "CID-0001"
    _ins(
        con,
        "canon.opportunity",
        opportunity_id="OPP-1",
        client_id="C-100",
        legal_entity_id="LE-US",
        name="Globex ERP rollout",
        stage="Closed Won",
        is_won=True,
        created_at=ts("2026-06-02"),
        close_date=dt.date(2026, 6, 20),
        amount=250000,
        currency="USD",
        correlation_id=c1,
        source_system="CRM",
    )
    _ins(
        con,
        "canon.contract",
        contract_id="CON-1",
        client_id="C-100",
        legal_entity_id="LE-US",
        opportunity_id="OPP-1",
        contract_type="MSA",
        status="executed",
        signed_date=dt.date(2026, 6, 25),
        currency="USD",
        correlation_id=c1,
        source_system="CLM",
    )
    _ins(
        con,
        "canon.sow",
        sow_id="SOW-1",
        contract_id="CON-1",
        opportunity_id="OPP-1",
        client_id="C-100",
        legal_entity_id="LE-US",
        status="executed",
        signed_date=dt.date(2026, 6, 26),
        start_date=dt.date(2026, 7, 1),
        value=250000,
        currency="USD",
        billing_type="T&M",
        correlation_id=c1,
        source_system="CLM",
    )
    _ins(
        con,
        "canon.amendment",
        amendment_id="AMD-1",
        sow_id="SOW-1",
        amendment_no=1,
        status="executed",
        signed_date=dt.date(2026, 9, 1),
        value_delta=40000,
        change_type="value",
        correlation_id=c1,
        source_system="CLM",
    )
    _ins(
        con,
        "canon.milestone",
        milestone_id="MS-1",
        sow_id="SOW-1",
        project_id="PRJ-1",
        name="Design sign-off",
        amount=50000,
        due_date=dt.date(2026, 8, 15),
        status="accepted",
        accepted_date=dt.date(2026, 8, 20),
        correlation_id=c1,
        source_system="CLM",
    )
    _ins(
        con,
        "canon.project",
        project_id="PRJ-1",
        sow_id="SOW-1",
        client_id="C-100",
        legal_entity_id="LE-US",
        name="Globex ERP rollout",
        billing_type="T&M",
        currency="USD",
        created_at=ts("2026-06-29"),
        start_date=dt.date(2026, 7, 1),
        status="active",
        practice="Strategy",
        region="NA",
        correlation_id=c1,
        source_system="ERP",
    )
    for i, d in enumerate(("2026-08-31", "2026-09-30"), 1):
        _ins(
            con,
            "canon.billing_schedule",
            schedule_line_id=f"BS-{i}",
            project_id="PRJ-1",
            sow_id="SOW-1",
            bill_date=dt.date.fromisoformat(d),
            amount=60000,
            currency="USD",
            line_type="milestone",
            correlation_id=c1,
            source_system="ERP",
        )
    _ins(
        con,
        "canon.invoice",
        invoice_id="INV-1",
        erp_invoice_no="INV-2026-0001",
        client_id="C-100",
        legal_entity_id="LE-US",
        sow_id="SOW-1",
        project_id="PRJ-1",
        type="invoice",
        status="posted",
        invoice_date=dt.date(2026, 9, 1),
        posted_at=ts("2026-09-01", 14),
        due_date=dt.date(2026, 10, 1),
        currency="USD",
        amount_net=58000,
        amount_gross=58000,
        amount_paid=58000,
        correlation_id=c1,
        source_system="ERP",
    )
    _ins(
        con,
        "canon.payment",
        payment_id="PAY-1",
        invoice_id="INV-1",
        client_id="C-100",
        amount=58000,
        currency="USD",
        received_date=dt.date(2026, 9, 28),
        applied_date=dt.date(2026, 9, 29),
        correlation_id=c1,
        source_system="ERP",
    )
    _ins(
        con,
        "canon.revenue_schedule",
        rev_line_id="REV-1",
        sow_id="SOW-1",
        project_id="PRJ-1",
        period=dt.date(2026, 8, 1),
        method="T&M",
        amount=58000,
        posted_at=ts("2026-09-03"),
        correlation_id=c1,
        source_system="ERP",
    )
    _ins(
        con,
        "canon.crm_invoice_status",
        crm_record_id="a0X-CRM-1",
        erp_invoice_no="INV-2026-0001",
        opportunity_id="OPP-1",
        amount=58000,
        currency="USD",
        status="Paid",
        paid_amount=58000,
        last_synced_at=ts("2026-09-29", 18),
        correlation_id=c1,
        source_system="CRM",
    )
    _ins(
        con,
        "canon.integration_event",
        event_id="EVT-1",
        correlation_id=c1,
        source_system="CLM",
        target_system="ERP",
        entity_type="sow",
        entity_id="SOW-1",
        target_entity_id="PRJ-1",
        event_type="project.create",
        status="succeeded",
        attempt=1,
        created_at=ts("2026-06-26", 10),
        processed_at=ts("2026-06-29"),
    )
    _ins(
        con,
        "canon.integration_event",
        event_id="EVT-2",
        correlation_id=c1,
        source_system="ERP",
        target_system="CRM",
        entity_type="invoice",
        entity_id="INV-1",
        event_type="invoice.sync",
        status="failed",
        attempt=3,
        error_message="CRM 503 Service Unavailable",
        created_at=ts("2026-09-01", 15),
    )
    # Flow 2: a signed SOW with no project and an invoice that never reached the CRM.
    c2 = "CID-0002"
    _ins(
        con,
        "canon.opportunity",
        opportunity_id="OPP-2",
        client_id="C-200",
        legal_entity_id="LE-UK",
        name="Initech audit",
        stage="Closed Won",
        is_won=True,
        created_at=ts("2026-07-01"),
        amount=90000,
        currency="GBP",
        correlation_id=c2,
        source_system="CRM",
    )
    _ins(
        con,
        "canon.sow",
        sow_id="SOW-2",
        opportunity_id="OPP-2",
        client_id="C-200",
        legal_entity_id="LE-UK",
        status="executed",
        signed_date=dt.date(2026, 8, 3),
        value=90000,
        currency="GBP",
        correlation_id=c2,
        source_system="CLM",
    )
    _ins(
        con,
        "canon.invoice",
        invoice_id="INV-2",
        erp_invoice_no="INV-2026-0002",
        client_id="C-200",
        legal_entity_id="LE-UK",
        sow_id="SOW-2",
        type="invoice",
        status="posted",
        invoice_date=dt.date(2026, 10, 2),
        posted_at=ts("2026-10-02"),
        currency="GBP",
        amount_gross=3100,
        correlation_id=c2,
        source_system="ERP",
    )
    # A record the canonical layer could not put on a flow.
    _ins(
        con,
        "canon.invoice",
        invoice_id="INV-9",
        erp_invoice_no="INV-2026-0009",
        client_id="C-300",
        type="invoice",
        status="posted",
        invoice_date=dt.date(2026, 10, 9),
        currency="USD",
        amount_gross=999.99,
        source_system="ERP",
    )
    for src, table, rows in (
        ("salesforce", "opportunity", 2),
        ("ironclad", "sow", 2),
        ("netsuite", "invoice", 3),
    ):
        _ins(
            con,
            "canon.snapshot_meta",
            source_system=src,
            table_name=table,
            snapshot_ts=snap,
            row_count=rows,
            extract_status="complete",
            max_modified_at=ts("2026-10-30"),
        )


FINDINGS = (  # key, check, sev, kind, impact, etype, eid, cid, client, le, project, invoice, event_date, owner, status
    (
        "k-010-sow2",
        "Q2C-010",
        "S2",
        "cash",
        "12500.00",
        "sow",
        "SOW-2",
        "CID-0002",
        "C-200",
        "LE-UK",
        None,
        None,
        "2026-08-03",
        "PMO / Delivery Ops",
        "open",
    ),
    (
        "k-033-inv1",
        "Q2C-033",
        "S1",
        "leakage",
        "48250.50",
        "invoice",
        "INV-1",
        "CID-0001",
        "C-100",
        "LE-US",
        "PRJ-1",
        "INV-1",
        "2026-09-01",
        "Billing Ops",
        "open",
    ),
    (
        "k-070-inv2",
        "Q2C-070",
        "S3",
        "cash",
        "3100.00",
        "invoice",
        "INV-2",
        "CID-0002",
        "C-200",
        "LE-UK",
        None,
        "INV-2",
        "2026-10-02",
        "Integration / RevOps",
        "reopened",
    ),
    (
        "k-021-prj1",
        "Q2C-021",
        "S2",
        "leakage",
        "7000.00",
        "project",
        "PRJ-1",
        "CID-0001",
        "C-100",
        "LE-US",
        "PRJ-1",
        None,
        "2026-06-29",
        "Billing Ops",
        "open",
    ),
    (
        "k-032-hostile",
        "Q2C-032",
        "S3",
        "leakage",
        "999.99",
        "time_entry",
        HOSTILE_ID,
        None,
        "C-300",
        "LE-US",
        None,
        None,
        "2026-10-20",
        "Billing Ops",
        "open",
    ),
)
CHECKS = {  # id: title, domain, owner, severity, kind, (previous rows, previous $)
    "Q2C-001": (
        "Closed-won opportunity without executed SOW",
        "opp_to_contract",
        "Deal Desk",
        "S2",
        "exposure",
    ),
    "Q2C-010": (
        "Executed SOW without project after SLA",
        "contract_to_project",
        "PMO / Delivery Ops",
        "S2",
        "cash",
    ),
    "Q2C-021": (
        "Billing-schedule total ≠ effective contract value",
        "billing_setup",
        "Billing Ops",
        "S2",
        "leakage",
    ),
    "Q2C-032": ("Approved billable time never invoiced", "delivery_to_bill", "Billing Ops", "S3", "leakage"),
    "Q2C-033": (
        "T&M time billed at rate ≠ contract rate",
        "delivery_to_bill",
        "Billing Ops",
        "S2",
        "leakage",
    ),
    "Q2C-070": (
        "ERP posted invoice missing in CRM after sync SLA",
        "cash_crm",
        "Integration / RevOps",
        "S3",
        "cash",
    ),
}
STAGES = {"Q2C-001": "opportunity", "Q2C-010": "project", "Q2C-021": "schedule", "Q2C-032": "invoice"}


# The previous run's findings (key, check, sev, kind, impact, entity type, id, correlation, client, entity, event,
# owner): its cases are formed by build_cases, then its findings and cases leave the file as a new run's file
# would not hold them; what it carries forward is case_history and case_run. OPP-3's case is closed by the
# current run (Q2C-001 ran and found nothing).
PREV_FINDINGS = (
    ("k-033-inv1", "Q2C-033", "S2", "leakage", "30000.00", "invoice", "INV-1", "CID-0001", "C-100", "LE-US",
     "2026-09-01", "Billing Ops"),
    ("k-010-sow2", "Q2C-010", "S2", "cash", "9000.00", "sow", "SOW-2", "CID-0002", "C-200", "LE-UK", "2026-08-03",
     "PMO / Delivery Ops"),
    ("k-070-inv2", "Q2C-070", "S3", "cash", "3100.00", "invoice", "INV-2", "CID-0002", "C-200", "LE-UK",
     "2026-10-02", "Integration / RevOps"),
    ("k-001-opp3", "Q2C-001", "S2", "exposure", "20000.00", "opportunity", "OPP-3", "CID-0001", "C-100", "LE-US",
     "2026-10-15", "Deal Desk"),
)  # fmt: skip


def _previous_cases(con: duckdb.DuckDBPyConnection, prev_run: str) -> None:
    """Form the previous run's cases the way that run did, and keep only what a run carries forward."""
    for key, cid, sev, kind, amt, et, eid, corr, client, le, ev, owner in PREV_FINDINGS:
        _ins(
            con,
            "results.finding",
            run_id=prev_run,
            finding_key=key,
            check_id=cid,
            severity=sev,
            base_severity=sev,
            impact_kind=kind,
            impact_rc=amt,
            entity_type=et,
            entity_id=eid,
            correlation_id=corr,
            client_id=client,
            legal_entity_id=le,
            invoice_id=eid if et == "invoice" else None,
            event_date=dt.date.fromisoformat(ev),
            owner_team=owner,
            first_seen_at=ts("2026-10-30", 0),
            last_seen_at=ts("2026-10-31", 0),
            status="open",
            reopened_count=0,
            stage=STAGES.get(cid, "invoice"),
        )
    con.execute("SET VARIABLE run_id = ?", [prev_run])
    con.execute("SET VARIABLE as_of_ts = ?", [ts("2026-10-31", 0)])
    build_cases(con, prev_run)
    con.execute("DELETE FROM results.finding WHERE run_id = ?", [prev_run])
    con.execute("DELETE FROM results.cases WHERE run_id = ?", [prev_run])


def _results(con: duckdb.DuckDBPyConnection, prev_run: str, run_id: str, started: dt.datetime) -> None:
    ensure_results(con)
    as_of_ts = ts("2026-11-01", 0)
    prev_impact = {"Q2C-001": "20000.00", "Q2C-010": "9000.00", "Q2C-033": "30000.00", "Q2C-070": "3100.00"}
    for cid, (title, domain, owner, sev, kind) in CHECKS.items():
        mine = [f for f in FINDINGS if f[1] == cid]
        impact = sum(float(f[4]) for f in mine)
        for rid, n, amt, as_of in (
            (
                prev_run,
                1 if cid in prev_impact else 0,
                prev_impact.get(cid, "0"),
                AS_OF - dt.timedelta(days=1),
            ),
            (run_id, len(mine), f"{impact:.2f}", AS_OF),
        ):
            _ins(
                con,
                "results.check_run",
                run_id=rid,
                check_id=cid,
                title=title,
                domain=domain,
                owner=owner,
                base_severity=sev,
                impact_kind=kind,
                status="failed" if n else "passed",
                row_count=n,
                impact_rc=amt,
                duration_ms=12.5,
                as_of=as_of,
                params=json.dumps({"sla_bd": 5}),
                stage=STAGES.get(cid, "invoice"),
            )
    _previous_cases(con, prev_run)
    for key, cid, sev, kind, amt, et, eid, corr, client, le, prj, inv, ev, owner, status in FINDINGS:
        first = ts("2026-10-30", 0) if cid in prev_impact else as_of_ts
        _ins(
            con,
            "results.finding",
            run_id=run_id,
            finding_key=key,
            check_id=cid,
            severity=sev,
            base_severity=sev,
            impact_kind=kind,
            impact_rc=amt,
            entity_type=et,
            entity_id=eid,
            correlation_id=corr,
            client_id=client,
            legal_entity_id=le,
            project_id=prj,
            invoice_id=inv,
            event_date=dt.date.fromisoformat(ev),
            owner_team=owner,
            first_seen_at=first,
            last_seen_at=as_of_ts,
            status=status,
            reopened_count=1 if status == "reopened" else 0,
            details=json.dumps({"evidence": f"{cid} on {eid}"}),
            stage=STAGES.get(cid, "invoice"),
        )
        _ins(
            con,
            "results.finding_history",
            finding_key=key,
            check_id=cid,
            entity_type=et,
            entity_id=eid,
            correlation_id=corr,
            invoice_id=inv,
            first_seen_at=first,
            last_seen_at=as_of_ts,
            status=status,
            reopened_count=1 if status == "reopened" else 0,
            last_run_id=run_id,
            severity=sev,
            impact_rc=amt,
        )
    _ins(
        con,
        "results.finding_history",
        finding_key="k-001-opp3",
        check_id="Q2C-001",
        entity_type="opportunity",
        entity_id="OPP-3",
        correlation_id="CID-0001",
        first_seen_at=ts("2026-10-30", 0),
        last_seen_at=ts("2026-10-31", 0),
        resolved_at=as_of_ts,
        status="resolved",
        reopened_count=0,
        last_run_id=prev_run,
        severity="S2",
        impact_rc="20000.00",
    )
    # cases as a run forms them from these findings (checks/ is the only writer of cases)
    con.execute("SET VARIABLE run_id = ?", [run_id])
    con.execute("SET VARIABLE as_of_ts = ?", [as_of_ts])
    build_cases(con, run_id)
    kpis = (
        ("K01", "contract_to_project_median", "business_days"),
        ("K02", "invoices_aligned_count", "ratio"),
        ("K08", "revenue_leakage_pct", "ratio"),
        ("K01", "contract_to_project_within_sla", "ratio"),
    )
    for rid, as_of, vals in (
        (prev_run, AS_OF - dt.timedelta(days=1), (4.0, 0.91, 0.034, 0.78)),
        (run_id, AS_OF, (3.0, 0.95, 0.021, 0.86)),
    ):
        for (kid, name, unit), v in zip(kpis, vals, strict=True):
            _ins(
                con,
                "results.kpi",
                run_id=rid,
                as_of=as_of,
                kpi_id=kid,
                name=name,
                value=v,
                unit=unit,
                slice_kind="total",
            )
    for rid, st, status in ((prev_run, started - dt.timedelta(days=1), "ok"), (run_id, started, "ok")):
        _ins(
            con,
            "meta.run_history",
            run_id=rid,
            started_at=st,
            finished_at=st + dt.timedelta(minutes=2),
            status=status,
            as_of=AS_OF,
            trigger="schedule",
            rows=1234,
            errors=0,
            seconds=118.0,
        )
        for src in ("salesforce", "ironclad", "netsuite"):
            _ins(
                con,
                "meta.source_history",
                run_id=rid,
                source=src,
                stream="main",
                status="ok",
                rows=400,
                seconds=3.2,
                extracted_at=st,
            )
    _ins(
        con,
        "meta.run",
        run_id=run_id,
        started_at=started,
        finished_at=started + dt.timedelta(minutes=2),
        status="ok",
        as_of=AS_OF,
        trigger="schedule",
        reporting_currency="USD",
    )
    for src, system, stream, status, err in (
        ("salesforce", "CRM", "opportunity", "ok", None),
        ("ironclad", "CLM", "records", "ok", None),
        ("netsuite", "ERP", "transaction", "ok", None),
        ("middleware", "INT", "events", "failed", "HTTP 503 from /events after 5 retries"),
    ):
        _ins(
            con,
            "meta.source_run",
            run_id=run_id,
            source=src,
            system=system,
            transport="files",
            stream=stream,
            raw_table=f"raw.{src}__{stream}",
            status=status,
            rows=0 if err else 400,
            files=1,
            seconds=2.5,
            extracted_at=started,
            error=err,
        )


# Data contracts per run (prev, current): salesforce.opportunity breaks its key this run (critical, so the
# source fails), canon.invoice has a warning; the rest pass. (source, stream, label, kind, severity, column)
CONTRACTS = (
    ("salesforce", "opportunity", "Id unique", "key", "critical", "Id"),
    ("salesforce", "opportunity", "StageName in 9 allowed values", "allowed", "critical", "StageName"),
    ("netsuite", "transaction", "tranid not null", "key", "critical", "tranid"),
    (
        "canon",
        "canon.invoice",
        "client_id resolves to client.client_id",
        "references",
        "warning",
        "client_id",
    ),
)
FAILING = {  # (stream, label) -> (unexpected, element, samples) in the current run
    ("opportunity", "Id unique"): (2, 400, [{"Id": "006-DUP-1"}, {"Id": "006-DUP-2"}]),
    ("canon.invoice", "client_id resolves to client.client_id"): (
        1,
        3,
        [{"invoice_id": "INV-9", "source_system": "netsuite"}],
    ),
}
# Monitors of the current run: ironclad's volume collapsed (breach), netsuite grew (warning), drift added a field.
MONITORS = (
    (
        "salesforce",
        "*",
        "freshness",
        "ok",
        26.0,
        72.0,
        "hours",
        {"change_lag_hours": 26.0, "snapshot_age_hours": 1.0},
    ),
    (
        "ironclad",
        "*",
        "freshness",
        "ok",
        30.5,
        72.0,
        "hours",
        {"change_lag_hours": 30.5, "snapshot_age_hours": 1.0},
    ),
    (
        "ironclad",
        "records",
        "volume",
        "breach",
        40.0,
        400.0,
        "rows",
        {"median": 400, "ratio": 0.1, "history": 5},
    ),
    (
        "netsuite",
        "transaction",
        "volume",
        "warning",
        1400.0,
        400.0,
        "rows",
        {"median": 400, "ratio": 3.5, "history": 5},
    ),
    ("salesforce", "opportunity", "schema", "warning", 1.0, 0.0, "fields", {"added": ["Renewal_Date__c"]}),
    ("netsuite", "transaction", "schema", "ok", 0.0, 0.0, "fields", {}),
)
SUPPRESSED = ("Q2C-011", "Project without executed SOW", "contract_to_project", "PMO / Delivery Ops", "S2")


def _trust(con: duckdb.DuckDBPyConnection, prev_run: str, run_id: str, started: dt.datetime) -> None:
    """results.contract_result and results.monitor for two runs, and a check suppressed by a failed source."""
    con.execute(CONTRACT_DDL + MONITOR_DDL)
    for rid in (prev_run, run_id):
        for src, stream, label, kind, sev, col in CONTRACTS:
            bad, n, samples = FAILING.get((stream, label), (0, 400, [])) if rid == run_id else (0, 400, [])
            _ins(
                con,
                "results.contract_result",
                run_id=rid,
                source=src,
                stream=stream,
                expectation="ExpectColumnValuesToBeUnique"
                if kind == "key"
                else "ExpectColumnValuesToBeInSet",
                column_name=col,
                success=not bad,
                severity=sev,
                unexpected_count=bad,
                element_count=n,
                sample_failing_keys=json.dumps(samples),
                kind=kind,
                label=label,
            )
    for src, stream, mon, status, value, thr, unit, detail in MONITORS:
        for rid, st in ((prev_run, "ok"), (run_id, status)):
            _ins(
                con,
                "results.monitor",
                run_id=rid,
                source=src,
                stream=stream,
                monitor=mon,
                status=st,
                severity={"breach": "critical", "warning": "warning"}.get(st),
                value=value if rid == run_id else thr if mon == "volume" else value,
                threshold=thr,
                unit=unit,
                detail=json.dumps(detail),
                measured_at=started,
            )
    cid, title, domain, owner, sev = SUPPRESSED
    _ins(
        con,
        "results.check_run",
        run_id=run_id,
        check_id=cid,
        title=title,
        domain=domain,
        owner=owner,
        base_severity=sev,
        impact_kind="leakage",
        status="suppressed",
        row_count=0,
        impact_rc=0,
        duration_ms=0,
        as_of=AS_OF,
        params="{}",
    )


def _coverage(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """One check not covered (a field the org lacks), one partly covered (an unmapped value), the rest covered."""
    from checks.coverage import COVERAGE_DDL

    con.execute(COVERAGE_DDL)
    rows = [
        ("Q2C-075", "check", "not covered", 0,
         ["canon.invoice.credit_reason_code: netsuite transaction.custbody_credit_reason is not in the source"],
         ["sources.netsuite.custom_fields.custbody_credit_reason"]),
        ("Q2C-001", "check", "partly covered", 3,
         ["canon.sow.status: vendor value 'Fully Signed' unmapped (12 rows)"],
         ['sources.ironclad.values."sow.status"']),
        ("Q2C-010", "check", "covered", 0, [], []),
        ("K01", "kpi", "covered", 0, [], []),
    ]  # fmt: skip
    for item, kind, status, unjudged, missing, settings_ in rows:
        con.execute(
            "INSERT INTO results.coverage VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, item, kind, status, unjudged, json.dumps(missing), json.dumps(settings_)],
        )


def build(data_dir: Path, *, started: dt.datetime | None = None, with_results: bool = True) -> str:
    """Create and publish one run (carrying a previous run's history rows); returns its run id."""
    started = started or dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    wh = Warehouse.at(data_dir)
    run_id = new_run_id(started)
    prev_run = new_run_id(started - dt.timedelta(days=1))
    con = wh.create(run_id)
    try:
        for schema in SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(SCHEMA_SQL.read_text())
        _canon(con)
        if with_results:
            _results(con, prev_run, run_id, started)
            _trust(con, prev_run, run_id, started)
            _coverage(con, run_id)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    wh.publish(run_id)
    return run_id


def write_config(root: Path) -> Path:
    """A closedloop.toml whose data_dir is root/data and whose as_of is the fixture's."""
    cfg = root / "closedloop.toml"
    cfg.write_text(f"[closedloop]\ndata_dir = 'data'\nas_of = '{AS_OF.isoformat()}'\n", encoding="utf-8")
    return cfg
