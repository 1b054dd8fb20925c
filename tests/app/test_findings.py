"""The queue on the small warehouse: cases by default, money per kind, URL filters, hostile input as text, and the
workflow on a case (a reason code is required to resolve) written to the audit log."""

from __future__ import annotations

import datetime as dt

from closedloop.settings import load
from closedloop.workflow import Workflow
from tests.app import warehouse


def metric(at, label):
    return next(m for m in at.metric if m.label == label)


def exact(at, label):
    """A tile shows money compactly ($56.3K); its help carries the exact figure finance reconciles."""
    return metric(at, label).proto.help.split(":")[0]


def test_the_queue_shows_cases_with_each_kind_of_money_apart(app):
    at = app("findings")
    assert not at.exception
    assert metric(at, "Cases").value == "5"  # five findings, each on its own money
    assert exact(at, "Leakage") == "$56,250.49"  # 48,250.50 + 7,000.00 + 999.99
    assert exact(at, "Exposure") == "$0.00"
    assert exact(at, "Cash") == "$15,600.00"  # 12,500.00 + 3,100.00: never added to the leakage
    assert metric(at, "Compliance").value == "0 findings"
    table = at.dataframe[0].value
    assert table.shape[0] == 5
    assert {"leakage_rc", "exposure_rc", "cash_rc", "compliance_findings"} <= set(table.columns)
    assert not any("total" in c for c in table.columns)
    assert "largest $ first" in " ".join(c.value for c in at.caption)


def test_filters_in_the_url_set_the_totals(app):
    at = app("findings", severity="S1")
    assert metric(at, "Cases").value == "1"
    assert exact(at, "Leakage") == "$48,250.50"
    at = app("findings", kind="cash")
    assert metric(at, "Cases").value == "2"
    assert exact(at, "Leakage") == "$0.00" and exact(at, "Cash") == "$15,600.00"


def test_changing_filters_changes_totals_and_the_url(app):
    at = app("findings")
    at.multiselect(key="f_client").select("C-200").run()
    assert metric(at, "Cases").value == "2"
    assert exact(at, "Cash") == "$15,600.00"
    assert at.query_params["client"] in ("C-200", ["C-200"])
    at.multiselect(key="f_client").unselect("C-200").run()
    at.text_input(key="f_min").input("10,000").run()  # the largest amount of any one kind
    assert metric(at, "Cases").value == "2"
    assert at.query_params["min"] == "10,000"
    at.multiselect(key="f_age").select("31-60").run()  # INV-1 broke 60 days before as_of; SOW-2 89 days
    assert metric(at, "Cases").value == "1"
    assert exact(at, "Leakage") == "$48,250.50"


def test_a_check_filter_finds_cases_where_it_is_root_or_symptom(app):
    at = app("findings", check="Q2C-070")
    assert metric(at, "Cases").value == "1"
    assert at.dataframe[0].value["check_id"].to_list() == ["Q2C-070"]


def test_hostile_text_in_filters_is_plain_text(app):
    at = app("findings")
    at.text_input(key="f_q").input("'; DROP TABLE results.finding; --").run()
    assert not at.exception
    assert metric(at, "Cases").value == "1"  # the case of the finding whose id holds that text, nothing more
    for junk in ("%", "_", "\\", "' OR 1=1 --", "Ω≈ç√ 🚀 \u202e", "x" * 5000):
        at.text_input(key="f_q").input(junk).run()
        assert not at.exception, junk
    at.text_input(key="f_q").input("").run()
    for bad in ("abc", "1e999999", "NaN", "-Infinity", "12'--"):
        at.text_input(key="f_min").input(bad).run()
        assert not at.exception, bad
        assert metric(at, "Cases").value == "5"
    at.text_input(key="f_min").input("").run()
    at.text_input(key="f_q").input("INV-2026-0002").run()  # an invoice number people have in hand
    assert metric(at, "Cases").value == "1"


def test_hostile_url_values_are_harmless(app):
    at = app(
        "findings",
        check=["Q2C-010' OR '1'='1"],
        severity=["S1); DROP TABLE x; --"],
        min="1;--",
        page="-3'",
        size="9999",
        group="client; DROP",
        grp="' OR 1=1",
        sel="<script>",
    )
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "**0** cases" in shown and "That case is not in this run." in shown


def test_a_finding_key_in_the_url_opens_its_case_beside_the_queue(app):
    at = app("findings", sel="k-033-inv1")  # the trace links findings this way
    assert not at.exception
    case = at.query_params["sel"]
    assert case != "k-033-inv1" and len(case) == 32  # the URL now names the case
    assert any("T&M time billed at rate" in s.value for s in at.subheader)
    shown = " ".join(m.value for m in at.markdown)
    assert "History across runs" in shown and "Why: the root cause" in shown
    assert "Credit and re\\-bill the line at the contract rate" in shown  # the rule header's remediation
    assert "Client **Globex Corp**" in shown and "INV-2026-0001" in shown
    assert [m.value for m in at.metric if m.label == "Leakage"][-1] == "$48,250.50"
    links = [p.proto.label for p in at.get("page_link")]
    assert any("Trace flow CID-0001" in label for label in links)


def test_resolving_a_case_needs_a_reason_code_and_every_action_is_audited_on_the_case(app, site):
    at = app("findings", sel="k-010-sow2")
    case = at.query_params["sel"]
    hostile = "<script>alert(1)</script> **Ops** 'team' =SUM(A1)"
    next(t for t in at.text_input if t.label.startswith("Assign to (")).input(hostile)
    at.text_input(key=f"assign_note_{case}").input(hostile)
    next(b for b in at.button if b.label == "Assign").click().run()
    assert not at.exception
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    next(b for b in at.button if b.label == "Resolve").click().run()  # no reason code chosen
    assert any("a reason code is required" in e.value for e in at.error)
    at.selectbox(key=f"resolve_reason_{case}").select("data_entry")
    at.text_input(key=f"resolve_note_{case}").input(hostile)
    next(b for b in at.button if b.label == "Resolve").click().run()
    assert not at.error
    cases = Workflow(load(site).ops_url, subject="case")
    log = cases.audit(case)
    assert [r["action"] for r in log] == ["resolve", "acknowledge", "assign"]
    assert log[2]["payload"] == {"assignee": hostile, "note": hostile}
    assert log[0]["payload"]["reason"] == "data_entry"
    assert all(r["actor"] == "analyst" and r["subject"] == "case" for r in log)
    assert Workflow(load(site).ops_url).audit() == []  # nothing written against a finding
    assert cases.states()[case].status == "resolved"
    at = app("findings", sel=case, status=["resolved"])
    assert any(m.value.startswith("**1** cases") for m in at.markdown)  # beside a case, totals are one line
    shown = " ".join(m.value for m in at.markdown)
    assert "<script>" not in shown and "\\<script\\>" in shown
    activity = at.dataframe[-1].value
    assert hostile in activity["details"].to_list()[-1]  # in a table cell: text, never markup


def test_allowlisting_a_case_takes_it_off_the_queue_until_it_expires(app, site):
    at = app("findings", sel="k-070-inv2")
    case = at.query_params["sel"]
    at.text_input(key=f"allow_why_{case}").input("client disputes; waiting on their AP")
    next(b for b in at.button if b.label == "Allowlist").click().run()
    assert not at.exception
    state = Workflow(load(site).ops_url, subject="case").states()[case]
    assert state.allow_until == dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    assert metric(app("findings"), "Cases").value == "4"
    assert metric(app("findings", status=["allowlisted"]), "Cases").value == "1"


def test_a_newly_published_run_is_picked_up_without_restart(app, site):
    at = app("overview")
    first = at.caption[0].value
    new = warehouse.build(site.parent / "data", started=dt.datetime.now(dt.UTC))
    at.run()
    assert new in at.caption[0].value and new not in first


def test_severity_is_the_findings_own_everywhere(app):
    """The queue, the case beside it and the catalog show results.finding.severity (the catalog also the rule's)."""
    at = app("findings", sel="k-033-inv1")  # Q2C-033's rule says S2; this finding is S1
    row = at.dataframe[0].value.set_index("check_id").loc["Q2C-033"]
    assert row["severity"] == "S1"
    assert "severity **S1**" in " ".join(m.value for m in at.markdown)
    at = app("checks_catalog")
    table = at.dataframe[0].value.set_index("check_id")
    assert table.loc["Q2C-033", "severity"] == "S2"  # the rule's base severity, labelled so
    assert table.loc["Q2C-033", "finding_severity"] == "1 S1"
