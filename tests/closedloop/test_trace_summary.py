"""closedloop.trace_summary and `closedloop trace --format`: event state per business event, where a flow broke,
its cases in stage order, the broken-flow counts; over the tier-s demo firm (built once for the module)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from checks.loader import STAGES as CHECK_STAGES
from closedloop import pipeline
from closedloop import trace_summary as ts
from closedloop.cli import app
from closedloop.demo import generate_firm, write_demo
from closedloop.demo.config import write_demo_config
from closedloop.settings import load
from closedloop.trace import TraceRecord
from closedloop.warehouse import Warehouse

T0 = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)


def event(eid, status, attempt=1, key="invoice.posted:INV-1", target="salesforce", minutes=0, error=None):
    fields = {
        "event_type": "invoice.posted",
        "source_system": "netsuite",
        "target_system": target,
        "entity_type": "invoice",
        "entity_id": "INV-1",
        "status": status,
        "attempt": attempt,
        "error_message": error,
        "processed_at": T0 + dt.timedelta(minutes=minutes),
        "idempotency_key": key,
    }
    return TraceRecord("Middleware", "integration_event", eid, T0, fields)


def test_a_failure_then_a_success_is_one_recovered_event_not_a_break():
    [e] = ts.event_states([event("E1", "failed", error="HTTP 503"), event("E2", "success", minutes=10)])
    assert (e.state, e.label, e.broken, e.event_ids) == (
        ts.RECOVERED,
        "recovered after 2 attempts",
        False,
        ("E1", "E2"),
    )
    assert e.last_error == "HTTP 503" and e.stage == "crm"


def test_event_states_per_key_and_target():
    states = ts.event_states(
        [
            event("A", "success"),  # delivered at once
            event("B", "success", attempt=3, key="k2"),  # the log folded two retries into one row
            event("C", "failed", key="k3", error="503"),
            event("D", "retrying", key="k3", attempt=2, minutes=5),  # last attempt failed: retries pending
            event("E", "failed", key="k4"),
            event("F", "dead_letter", key="k4", attempt=6, minutes=60, error="INVALID_FIELD"),
            event("G", "failed", key="k1", target="ironclad"),  # same key, another target: another event
        ]
    )
    got = {(e.key, e.target_system): (e.state, e.label) for e in states}
    assert got == {
        ("invoice.posted:INV-1", "salesforce"): (ts.DELIVERED, "delivered"),
        ("k2", "salesforce"): (ts.RECOVERED, "recovered after 3 attempts"),
        ("k3", "salesforce"): (ts.FAILING, "failing after 2 attempts, retries pending"),
        ("k4", "salesforce"): (ts.DEAD_LETTERED, "dead-lettered after 6 attempts"),
        ("k1", "ironclad"): (ts.FAILING, "failing after 1 attempt, retries pending"),
    }
    assert states[0].state == ts.DEAD_LETTERED  # the worst first: the banners read top down
    assert next(e for e in states if e.target_system == "ironclad").stage == "contract"


def test_stages_mark_the_first_missing_stage_and_skip_optional_ones():
    recs = [
        TraceRecord("CRM", "opportunity", "O1", T0, {}),
        TraceRecord("CLM", "sow", "S1", T0, {}),
        TraceRecord("ERP", "project", "P1", T0, {}),
        TraceRecord("ERP", "invoice", "I1", T0, {}),
    ]
    flow = ts.build("CID-1", recs, [], 0, [])
    assert [s.state for s in flow.stages] == [
        "ok",
        "ok",
        "ok",
        "skipped",
        "skipped",
        "ok",
        "missing",
        "missing",
    ]
    assert flow.line() == "opportunity won → contract signed → project created → invoiced → **not in CRM**"
    assert flow.line(markdown=False).endswith("invoiced → [not in CRM]")


def test_without_cases_an_open_finding_flags_its_checks_stage():
    recs = [TraceRecord("CRM", "opportunity", "O1", T0, {}), TraceRecord("CLM", "sow", "S1", T0, {})]
    found = [
        {"finding_key": "f1", "check_id": "Q2C-003", "title": "SOW value differs", "status": "open"},
        {"finding_key": "f2", "check_id": "Q2C-001", "title": "closed one", "status": "closed"},
    ]
    flow = ts.build("CID-1", recs, found, 0, [], {"Q2C-003": "contract", "Q2C-001": "opportunity"})
    assert [(s.name, s.state) for s in flow.stages[:3]] == [
        ("opportunity", "ok"),
        ("contract", "flagged"),
        ("project", "missing"),
    ]
    assert flow.marked.name == "project"  # a missing stage is where the flow stopped, before a flagged one
    assert flow.line() == "opportunity won → contract signed → **no project**"


def test_parent_flows_come_from_the_evidence():
    found = [
        {"correlation_id": "cl-x1", "details": '{"issue":"malformed","parent_cid":"CL-X1"}'},
        {"correlation_id": "CL-Y", "details": '{"parent_cid":"CL-Y"}'},  # its own flow: nothing to add
        {"correlation_id": "CL-Z", "details": "not json"},
        {"correlation_id": "CL-Z", "details": None},
    ]
    assert ts.parent_flows(found) == ["CL-X1"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The tier-s demo firm collected and published once; yields (config path, read-only connection)."""
    root = tmp_path_factory.mktemp("demo")
    firm = generate_firm("s", seed=42)
    write_demo(firm, root)
    as_of = dt.date.fromisoformat(str(firm.params["as_of"]))
    del firm
    report = pipeline.run(load(write_demo_config(root, as_of)), trigger="test")
    assert report.status == "ok" and report.published, report.errors
    cfg = root / "closedloop.toml"
    con = Warehouse.at(load(cfg).data_dir).connect_published()
    yield cfg, con
    con.close()


def _dead_lettered_flow(con) -> str:
    return con.execute(
        "SELECT min(correlation_id) FROM canon.integration_event e WHERE status = 'dead_letter' AND NOT EXISTS ("
        "SELECT 1 FROM canon.integration_event s WHERE s.idempotency_key = e.idempotency_key AND s.status = 'success')"
    ).fetchone()[0]


def _recovered_flow(con) -> str:
    return con.execute(
        "SELECT min(correlation_id) FROM canon.integration_event e WHERE status = 'failed' AND EXISTS ("
        "SELECT 1 FROM canon.integration_event s WHERE s.idempotency_key = e.idempotency_key AND s.status = 'success')"
        " AND correlation_id NOT IN (SELECT correlation_id FROM canon.integration_event WHERE status = 'dead_letter')"
    ).fetchone()[0]


def test_a_dead_lettered_invoice_marks_the_flow_not_in_crm(demo):
    _, con = demo
    cid = _dead_lettered_flow(con)
    flow = ts.summarize(con, cid)
    dead = [e for e in flow.events if e.state == ts.DEAD_LETTERED]
    assert dead and dead[0].label == "dead-lettered after 6 attempts"
    assert dead[0].last_error == "INVALID_FIELD: Account__c not found"
    crm = next(s for s in flow.stages if s.name == "crm")
    invoice = dead[0].entity_id
    assert (crm.state, crm.label) == ("broken", "not in CRM")
    assert crm.reason.startswith(f"invoice {invoice} sync failed 6×, dead-lettered")
    assert flow.marked is crm or flow.marked.state == "missing"  # nothing before it is missing on this flow
    assert f"**not in CRM**: invoice {invoice} sync failed 6×, dead-lettered" in flow.line()


def test_a_recovered_event_is_no_break_and_not_counted(demo):
    _, con = demo
    cid = _recovered_flow(con)
    flow = ts.summarize(con, cid)
    recovered = [e for e in flow.events if e.state == ts.RECOVERED]
    assert recovered and all(not e.broken for e in recovered)
    assert any(e.label.startswith("recovered after ") for e in recovered)
    assert not any(s.state == "broken" for s in flow.stages if s.name == recovered[0].stage)
    assert cid not in {r["correlation_id"] for r in ts.recent_broken_flows(con, 1000)}


def test_cases_are_listed_along_the_flow(demo):
    _, con = demo
    cid = _dead_lettered_flow(con)
    cases = ts.summarize(con, cid).cases
    ranks = [CHECK_STAGES.index(c["stage"]) for c in cases]
    assert len(cases) > 1 and ranks == sorted(ranks)
    truth = con.execute(
        "SELECT count(*) FROM results.cases WHERE correlation_id = ? AND run_id = (SELECT run_id FROM meta.run)",
        [cid],
    ).fetchone()[0]
    assert len(cases) == truth
    money = ts.money_by_kind(cases)
    assert money["cash"] == sum((c["cash_rc"] for c in cases if c["cash_rc"] is not None), Decimal("0"))


def test_broken_flow_counts_match_the_event_log(demo):
    _, con = demo
    # the same answer in another formulation: the latest attempt of each key × target, no success among them
    rows = con.execute(
        "SELECT correlation_id, idempotency_key, target_system, status, coalesce(processed_at, created_at), attempt,"
        " event_id FROM canon.integration_event"
    ).fetchall()
    by_key: dict = {}
    for r in rows:
        by_key.setdefault((r[1] or r[6], r[2] or ""), []).append(r)
    dead, failing = set(), set()
    for attempts in by_key.values():
        if any(a[3] == "success" for a in attempts):
            continue
        last = max(attempts, key=lambda a: (a[4], a[5] or 0, a[6]))
        (dead if last[3] == "dead_letter" else failing).add(last[0])
    got = ts.broken_flows(con)
    assert (got.dead_lettered_flows, got.failing_flows) == (len(dead - {None}), len(failing - {None}))
    assert got.dead_lettered_flows > 0
    failed_rows = sum(1 for r in rows if r[3] != "success")
    assert got.dead_lettered_events + got.failing_events < failed_rows  # recovered attempts are not counted


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_cli_trace_md_and_json_give_the_summary(demo):
    cfg, con = demo
    cid = _dead_lettered_flow(con)
    md = invoke("trace", cid, "--format", "md", "-c", str(cfg))
    assert md.exit_code == 0, md.output
    assert "**Where it broke:**" in md.output and "**not in CRM**: invoice " in md.output
    assert "sync failed 6×, dead-lettered" in md.output
    assert "| stage | root check |" in md.output and "dead-lettered after 6 attempts" in md.output
    doc = json.loads(invoke("trace", cid, "--format", "json", "-c", str(cfg)).stdout)
    [flow] = doc["flows"]
    assert flow["broke_at"]["stage"] in (
        "crm",
        *(s["name"] for s in flow["stages"] if s["state"] == "missing"),
    )
    assert any(e["state"] == "dead_lettered" for e in flow["events"])
    assert [c["stage"] for c in flow["cases"]] == [c["stage"] for c in ts.summarize(con, cid).cases]
    assert all(isinstance(c["cash_rc"], (str, type(None))) for c in flow["cases"])  # Decimal as text, exact


def test_cli_trace_of_nothing_exits_2_with_what_it_accepts(demo):
    cfg, _ = demo
    result = invoke("trace", "NO-SUCH-ID-'; DROP TABLE canon.invoice; --", "--format", "md", "-c", str(cfg))
    assert result.exit_code == 2
    assert "nothing in the published run matches" in result.output and "invoice number" in result.output
    bad = invoke("trace", "X", "--format", "xml", "-c", str(cfg))
    assert bad.exit_code == 2 and "md" in bad.output


def test_cli_trace_is_as_forgiving_as_the_page(demo):
    """An invoice number typed in lower case with a dash finds the same flow as the number as stored."""
    cfg, con = demo
    number = con.execute(
        "SELECT erp_invoice_no FROM canon.invoice WHERE erp_invoice_no IS NOT NULL AND correlation_id IS NOT NULL "
        "ORDER BY erp_invoice_no LIMIT 1"
    ).fetchone()[0]
    letters = "".join(ch for ch in number if ch.isalpha())
    typed = f"{letters.lower()}-{number[len(letters) :]}"
    exact = json.loads(invoke("trace", number, "--format", "json", "-c", str(cfg)).stdout)
    loose = invoke("trace", typed, "--format", "json", "-c", str(cfg))
    assert loose.exit_code == 0, loose.output
    flows = [f["correlation_id"] for f in json.loads(loose.stdout)["flows"]]
    assert flows and flows == [f["correlation_id"] for f in exact["flows"]]
