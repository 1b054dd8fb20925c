"""Data contracts: a payload that breaks its contract fails its source, suppresses dependent checks, never publishes."""

from __future__ import annotations

import json

import duckdb
import pytest

from closedloop import pipeline, settings
from closedloop.warehouse import Warehouse

CRM_MAPPING = """
INSERT INTO canon.client (client_id, name, source_system, source_id, snapshot_ts)
SELECT id, name, '${source}', id, _extracted_at FROM raw.${source}__accounts;
INSERT INTO canon.opportunity (opportunity_id, client_id, stage, is_won, amount, close_date, source_system,
                               source_id, snapshot_ts)
SELECT id, account_id, stage, stage = 'won', CAST(amount AS DECIMAL(18,2)), CAST(close AS DATE), '${source}', id,
       _extracted_at FROM raw.${source}__deals;
"""
ACCOUNTS = "id,name\nA1,Acme\nA2,Globex\nA3,Initech\n"
DEALS = "id,account_id,stage,amount,start,close\nD1,A1,won,100.00,2026-01-01,2026-02-01\nD2,A2,open,50.00,2026-03-01,2026-04-01\n"
SF_ACCOUNT = {
    "Id": "001A",
    "Name": "Acme",
    "IsDeleted": False,
    "SystemModstamp": "2026-10-30T10:00:00.000+0000",
}
SF_OPP = {
    "Id": "006A",
    "AccountId": "001A",
    "StageName": "Closed Won",
    "IsWon": True,
    "Amount": 10,
    "SystemModstamp": "2026-10-31T09:00:00.000+0000",
}

CONTRACTS = """
[contracts]
primary_keys = {"crm.accounts" = ["id"], "crm.deals" = ["id"]}
allowed_values = {"crm.deals.stage" = ["open", "won", "lost"]}
references = {"crm.deals.account_id" = "crm.accounts.id"}
non_negative = ["crm.deals.amount"]
date_order = [["crm.deals.start", "crm.deals.close"]]
"""


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def make_firm(tmp_path, *, accounts=ACCOUNTS, deals=DEALS, sf_accounts=None, sf_opps=None, extra=""):
    """A small firm: a generic files CRM, a Salesforce export, an ERP file; rewritable between runs."""
    for d in ("crm", "erp", "sf"):
        (tmp_path / d).mkdir(exist_ok=True)
    (tmp_path / "crm" / "accounts.csv").write_text(accounts)
    (tmp_path / "crm" / "deals.csv").write_text(deals)
    (tmp_path / "erp" / "invoices.jsonl").write_text('{"id": "I1", "amount": "10.00"}\n')
    write_jsonl(tmp_path / "sf" / "Account.jsonl", sf_accounts if sf_accounts is not None else [SF_ACCOUNT])
    write_jsonl(tmp_path / "sf" / "Opportunity.jsonl", sf_opps if sf_opps is not None else [SF_OPP])
    write_jsonl(tmp_path / "sf" / "Invoice_Status__c.jsonl", [])
    (tmp_path / "crm_mapping.sql").write_text(CRM_MAPPING)
    cfg = tmp_path / "closedloop.toml"
    cfg.write_text(
        "[closedloop]\nas_of = '2026-10-31'\n"
        "[sources.crm]\nkind = 'files'\npath = 'crm'\nmapping = 'crm_mapping.sql'\n"
        "streams = {accounts = 'accounts.csv', deals = 'deals.csv'}\n"
        "[sources.erp]\nkind = 'files'\npath = 'erp'\nstreams = {invoices = '*.jsonl'}\n"
        "[sources.salesforce]\npath = 'sf'\n" + CONTRACTS + extra
    )
    return settings.load(cfg)


def run_file(report):
    return duckdb.connect(report.warehouse_file, read_only=True)


def contract_rows(report, where="NOT success"):
    con = run_file(report)
    try:
        cur = con.execute(
            "SELECT source, stream, label, severity, unexpected_count, element_count, sample_failing_keys, exception"
            f" FROM results.contract_result WHERE {where} ORDER BY 1, 2, 3"
        )
        return [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def test_a_clean_firm_passes_every_contract_and_publishes(tmp_path):
    cfg = make_firm(tmp_path)
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "ok" and report.published, report.errors
    assert contract_rows(report) == []
    every = contract_rows(report, "true")
    labels = {(r["stream"], r["label"]) for r in every}
    assert ("deals", "id unique") in labels and ("opportunity", "Id unique") in labels
    assert ("opportunity", "AccountId resolves to account.Id") in labels  # a vendor default reference
    assert ("canon.opportunity", "opportunity_id unique") in labels
    assert report.trust["expectations"] == len(every) and report.trust["failed_sources"] == []


def test_null_and_duplicate_keys_and_an_unmapped_status_fail_the_source(tmp_path):
    cfg = make_firm(tmp_path)
    good = pipeline.run(cfg, with_checks=False)
    bad_deals = (
        DEALS
        + "D2,A3,open,5.00,2026-01-01,2026-01-02\n,A1,won,1.00,2026-01-01,2026-01-02\nD4,A1,Signed,1.00,,\n"
    )
    make_firm(tmp_path, deals=bad_deals)
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "partial" and not report.published
    assert {s.source: s.status for s in report.sources} == {"crm": "failed", "erp": "ok", "salesforce": "ok"}
    failed = {r["label"]: r for r in contract_rows(report)}
    assert failed["id not null"]["unexpected_count"] == 1 and failed["id not null"]["severity"] == "critical"
    assert failed["id unique"]["unexpected_count"] == 2
    assert {k["id"] for k in json.loads(failed["id unique"]["sample_failing_keys"])} == {"D2"}
    assert failed["stage in 3 allowed values"]["unexpected_count"] == 1
    assert any("source crm failed its data checks" in e and "id unique" in e for e in report.errors)
    assert Warehouse.at(cfg.data_dir).published()["run_id"] == good.run_id


def test_warnings_are_recorded_without_failing_the_source(tmp_path):
    deals = DEALS + "D3,A9,lost,-5.00,2026-05-01,2026-04-01\n"
    cfg = make_firm(tmp_path, deals=deals)
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "ok" and report.published, report.errors
    failed = {(r["stream"], r["label"]): r for r in contract_rows(report)}
    assert {r["severity"] for r in failed.values()} == {"warning"}
    assert failed[("deals", "account_id resolves to crm.accounts.id")]["unexpected_count"] == 1
    assert failed[("deals", "amount >= 0")]["unexpected_count"] == 1
    assert failed[("deals", "start <= close")]["unexpected_count"] == 1
    assert ("canon.opportunity", "client_id resolves to client.client_id") in failed  # canon FK, warning


def test_salesforce_declarations_give_key_contracts(tmp_path):
    dup = [SF_OPP, {**SF_OPP, "Amount": 20}]
    cfg = make_firm(tmp_path, sf_opps=dup)
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "partial" and not report.published
    failed = {(r["stream"], r["label"]) for r in contract_rows(report)}
    assert ("opportunity", "Id unique") in failed
    # the duplicate reaches canon too, where the blame goes to the source the rows came from
    assert ("canon.opportunity", "opportunity_id unique") in failed
    assert {s.source for s in report.sources if s.status == "failed"} == {"salesforce"}


def test_dependent_checks_are_suppressed_not_passed(tmp_path):
    pytest.importorskip("checks.runner")
    cfg = make_firm(tmp_path, sf_opps=[SF_OPP, {**SF_OPP, "Amount": 20}])  # verbatim repeats are dropped
    report = pipeline.run(cfg)
    assert report.status == "partial"
    con = run_file(report)
    try:
        status = dict(
            con.execute(
                "SELECT check_id, status FROM results.check_run WHERE run_id = ?", [report.run_id]
            ).fetchall()
        )
        findings = con.execute(
            "SELECT count(*) FROM results.finding WHERE run_id = ? AND check_id = 'Q2C-001'", [report.run_id]
        ).fetchone()[0]
    finally:
        con.close()
    assert status["Q2C-001"] == "suppressed" and findings == 0  # reads canon.opportunity, fed by salesforce


def test_contracts_can_be_switched_off_and_severity_overridden(tmp_path):
    cfg = make_firm(
        tmp_path,
        deals=DEALS + "D3,A9,lost,5.00,2026-01-01,2026-01-02\n",
        extra="severity = {references = 'critical'}\n",
    )
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "partial" and {s.source for s in report.sources if s.status == "failed"} == {
        "crm"
    }
    cfg.values["contracts"]["enabled"] = False
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "ok" and report.trust["expectations"] == 0


def test_faults_applied_to_demo_exports_are_caught(tmp_path):
    """The demo firm's vendor exports, then a dropped field and a conflicting duplicate key in them."""
    pytest.importorskip("closedloop.demo.exports")
    import datetime as dt

    from closedloop.demo import generate_firm, write_demo
    from closedloop.demo.config import write_demo_config

    firm = generate_firm("s", 7, people=25)
    write_demo(firm, tmp_path)
    as_of = dt.date.fromisoformat(str(firm.params["as_of"]))
    cfg = settings.load(write_demo_config(tmp_path, as_of, extra="[warehouse]\npublish_partial = true\n"))
    first = pipeline.run(cfg, with_checks=False)
    assert first.published, first.errors
    exports = tmp_path / "exports"
    opps = exports / "salesforce" / "Opportunity.jsonl"
    write_jsonl(opps, [{k: v for k, v in json.loads(line).items() if k != "Amount"} for line in opps.open()])
    jobs = exports / "netsuite" / "job.jsonl"
    records = [json.loads(line) for line in jobs.open()]
    write_jsonl(jobs, [*records, {**records[0], "companyname": "Conflicting copy"}])
    report = pipeline.run(cfg)
    failed = {s.source for s in report.sources if s.status == "failed"}
    assert {"salesforce", "netsuite"} <= failed and report.status == "partial"
    assert any("schema salesforce.opportunity" in e and "Amount" in e for e in report.errors)
    assert ("job", "id unique") in {(r["stream"], r["label"]) for r in contract_rows(report)}
    con = run_file(report)
    status = dict(
        con.execute(
            "SELECT check_id, status FROM results.check_run WHERE run_id = ?", [report.run_id]
        ).fetchall()
    )
    con.close()
    assert status["Q2C-001"] == "suppressed" and status["Q2C-010"] == "suppressed"
