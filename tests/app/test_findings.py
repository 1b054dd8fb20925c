"""The findings queue: URL filters, totals that follow them, hostile input as plain text, the workflow."""

from __future__ import annotations

from closedloop.settings import load
from closedloop.workflow import Workflow
from tests.app import warehouse


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_filters_in_the_url_set_the_totals(app):
    at = app("findings", severity="S1")
    assert not at.exception
    assert metric(at, "Findings") == "1"
    assert metric(at, "$ impact") == "$48,250.50"


def test_default_queue_is_every_active_finding(app):
    at = app("findings")
    assert metric(at, "Findings") == "5"
    assert metric(at, "$ impact") == "$71,850.49"
    assert at.dataframe[0].value.shape[0] == 5


def test_changing_filters_changes_totals_and_the_url(app):
    at = app("findings")
    at.multiselect(key="f_client").select("C-200").run()
    assert metric(at, "Findings") == "2"
    assert metric(at, "$ impact") == "$15,600.00"
    assert at.query_params["client"] in ("C-200", ["C-200"])
    at.multiselect(key="f_client").unselect("C-200").run()
    at.text_input(key="f_min").input("10,000").run()
    assert metric(at, "Findings") == "2"
    assert metric(at, "$ impact") == "$60,750.50"
    at.multiselect(key="f_age").select("31-60").run()  # INV-1 broke 60 days before as_of; SOW-2 89 days
    assert metric(at, "Findings") == "1"
    assert metric(at, "$ impact") == "$48,250.50"
    assert at.query_params["min"] == "10,000"


def test_status_filter_shows_closed_findings(app):
    at = app("findings", status=["closed"])
    assert metric(at, "Findings") == "1"
    assert metric(at, "$ impact") == "$20,000.00"


def test_hostile_text_in_filters_is_plain_text(app):
    at = app("findings")
    at.text_input(key="f_q").input("'; DROP TABLE results.finding; --").run()
    assert not at.exception
    assert metric(at, "Findings") == "1"  # it matches the finding whose id holds that text, nothing more
    for junk in ("%", "_", "\\", "' OR 1=1 --", "Ω≈ç√ 🚀 \u202e", "x" * 5000):
        at.text_input(key="f_q").input(junk).run()
        assert not at.exception, junk
    at.text_input(key="f_q").input("").run()
    for bad in ("abc", "1e999999", "NaN", "-Infinity", "12'--"):
        at.text_input(key="f_min").input(bad).run()
        assert not at.exception, bad
        assert metric(at, "Findings") == "5"
    at.multiselect(key="f_check").select("Q2C-010").run()
    assert metric(at, "Findings") == "1"


def test_hostile_url_values_are_harmless(app):
    at = app("findings", check=["Q2C-010' OR '1'='1"], severity=["S1); DROP TABLE x; --"], min="1;--")
    assert not at.exception
    assert metric(at, "Findings") == "0"


def test_selected_finding_shows_evidence_history_and_trace_link(app):
    at = app("findings", sel="k-033-inv1")
    assert not at.exception
    assert any("Q2C-033" in s.value for s in at.subheader)
    links = [pl.proto.label for pl in at.get("page_link")]
    assert any("Trace flow CID-0001" in label for label in links)


def test_workflow_actions_persist_in_the_ops_store_and_the_audit_log(app, site):
    at = app("findings", sel="k-010-sow2")
    hostile = "<script>alert(1)</script> **Ops** 'team'"
    at.text_input(key="assign_note_k-010-sow2").input("first look")
    assign_form = next(t for t in at.text_input if t.label.startswith("Assign to"))
    assign_form.input(hostile)
    next(b for b in at.button if b.label == "Assign").click().run()
    assert not at.exception
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    next(b for b in at.button if b.label == "Resolve").click().run()
    wf = Workflow(load(site).ops_url)
    log = wf.audit("k-010-sow2")
    assert [r["action"] for r in log] == ["resolve", "acknowledge", "assign"]
    assert log[2]["payload"]["assignee"] == hostile
    assert log[0]["payload"]["reason"] == "timing_difference"
    assert all(r["actor"] == "analyst" for r in log)
    state = wf.states()["k-010-sow2"]
    assert state.status == "resolved"
    at = app("findings", sel="k-010-sow2", status=["resolved"])
    assert metric(at, "Findings") == "1"
    shown = " ".join(m.value for m in at.markdown)
    assert "<script>" not in shown and "\\<script\\>" in shown


def test_a_newly_published_run_is_picked_up_without_restart(app, site):
    at = app("overview")
    first = at.caption[0].value
    import datetime as dt

    new = warehouse.build(site.parent / "data", started=dt.datetime.now(dt.UTC))
    at.run()
    assert new in at.caption[0].value and new not in first
