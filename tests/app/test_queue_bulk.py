"""The queue at scale (tests/app/warehouse_bulk.py: 625 cases): paging past 500, grouping with money per kind,
bulk actions with one audit row per case, a group that changed since it was shown, hostile evidence, exports."""

from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app import queries as q
from app import queries_cases as qc
from closedloop import access
from closedloop.settings import load
from closedloop.warehouse import Warehouse
from closedloop.workflow import ACTIVE, Workflow, overlay
from tests.app import warehouse, warehouse_bulk
from tests.app.conftest import APP

TOTAL = 626  # 5 cases of the small warehouse + 620 invoices + the closed one (shown only with status=closed)
OPEN = TOTAL - 1

ADMIN = access.Policy().local("analyst")  # every role: nothing masked, the whole firm


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("bulk")
    warehouse.write_config(root)
    warehouse.build(root / "data")
    warehouse_bulk.add_cases(root / "data")
    return root


@pytest.fixture
def bulk(template, tmp_path, monkeypatch):
    """A fresh copy of the bulk site (its own ops store); returns (config path, open_queue)."""
    root = tmp_path / "site"
    shutil.copytree(template, root)
    cfg = root / "closedloop.toml"
    monkeypatch.setenv("CLOSEDLOOP_CONFIG", str(cfg))
    st.cache_data.clear()
    st.cache_resource.clear()

    def open_queue(**params) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page("views/findings.py")
        return at.run()

    return cfg, open_queue


def md(at) -> str:
    return " ".join(m.value for m in at.markdown)


def kind_totals(cfg: Path) -> dict[str, Decimal]:
    """Each kind's money over the run's cases, straight from the warehouse (the answer the queue must give)."""
    path = Warehouse.at(load(cfg).data_dir).published_path()
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(
            "SELECT sum(leakage_rc), sum(exposure_rc), sum(cash_rc) FROM results.cases c "
            "WHERE run_id = (SELECT run_id FROM meta.run)"
        ).fetchone()
    return dict(
        zip(("leakage_rc", "exposure_rc", "cash_rc"), (r or Decimal("0.00") for r in row), strict=True)
    )


def cents(values) -> Decimal:
    return sum(
        (Decimal(str(v)).quantize(Decimal("0.01")) for v in values if v == v and v is not None), Decimal(0)
    )


def test_the_queue_pages_past_500_without_a_cap(bulk):
    _, open_queue = bulk
    at = open_queue(page="11")
    assert not at.exception
    assert f"Page **11** of **13** · cases 501–550 of {OPEN}" in md(at)
    eleventh = at.dataframe[0].value["case_key"].to_list()
    assert len(eleventh) == 50
    at.button(key="page_next").click().run()
    assert at.query_params["page"] == "12"
    assert f"Page **12** of **13** · cases 551–600 of {OPEN}" in md(at)
    assert not set(eleventh) & set(at.dataframe[0].value["case_key"])
    at.button(key="page_last").click().run()
    assert at.dataframe[0].value.shape[0] == OPEN - 600
    at = open_queue(size="100", page="6")
    assert f"Page **6** of **7** · cases 501–600 of {OPEN}" in md(at)
    assert at.dataframe[0].value.shape[0] == 100


@pytest.mark.parametrize("by", ["check", "client", "sow", "owner", "age"])
def test_groups_count_cases_and_money_per_kind_that_add_up_to_the_queue(bulk, by):
    cfg, open_queue = bulk
    at = open_queue(group=by)
    groups = at.dataframe[0].value
    assert groups.shape[0] >= 3 if by != "check" else groups.shape[0] >= 2
    assert int(groups["cases"].sum()) == OPEN
    expected = kind_totals(cfg)
    for col in ("leakage_rc", "exposure_rc", "cash_rc"):  # each kind adds up on its own; no column adds kinds
        assert cents(groups[col]) == expected[col], col
    assert not any("total" in c for c in groups.columns)


def test_selecting_a_group_lists_its_cases_page_by_page(bulk):
    _, open_queue = bulk
    at = open_queue(group="client")
    labels = at.dataframe[0].value["label"].to_list()
    row = labels.index("Umbrella Holdings")
    at.session_state["groups_client_0"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert at.query_params["grp"] == "C-400"
    n = int(at.dataframe[0].value["cases"][row])
    assert f"**Umbrella Holdings** · {n:,} cases" in md(at)
    cases = at.dataframe[1].value
    assert cases.shape[0] == min(50, n) and set(cases["client_name"]) == {"Umbrella Holdings"}
    at.button(key="gpage_next").click().run()
    assert at.query_params["gpage"] == "2" and f"cases 51–{min(100, n)} of {n}" in md(at)


def test_a_bulk_action_on_a_selection_writes_one_audit_row_per_case(bulk):
    cfg, open_queue = bulk
    at = open_queue()
    keys = at.dataframe[0].value["case_key"].to_list()[:3]
    at.session_state["cases_0_1_50"] = {"selection": {"rows": [0, 1, 2], "columns": [], "cells": []}}
    at.run()
    at.selectbox(key="bulk_action").select("acknowledge")
    at.text_input(key="bulk_note").input("looked at these three")
    button = at.button(key="bulk_selected")
    assert button.label == "Apply to 3 selected"
    button.click().run()
    assert not at.exception
    assert any("Acknowledge: 3 cases" in s.value for s in at.success)
    log = Workflow(load(cfg).ops_url, subject="case").audit()
    assert sorted(r["finding_key"] for r in log) == sorted(keys)
    assert {r["action"] for r in log} == {"acknowledge"} and len(
        {r["payload"]["bulk"]["id"] for r in log}
    ) == 1
    assert all(
        r["payload"]["bulk"]["size"] == 3 and r["payload"]["note"] == "looked at these three" for r in log
    )


def test_a_bulk_resolve_without_a_reason_code_is_refused(bulk):
    cfg, open_queue = bulk
    at = open_queue()
    at.session_state["cases_0_1_50"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    at.selectbox(key="bulk_action").select("resolve")
    at.button(key="bulk_selected").click().run()
    assert any("Nothing was saved: a reason code is required" in w.value for w in at.warning)
    assert Workflow(load(cfg).ops_url, subject="case").audit() == []
    at.session_state["cases_0_1_50"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    at.selectbox(key="bulk_action").select("resolve")
    at.selectbox(key="bulk_reason").select("timing_difference")
    at.button(key="bulk_selected").click().run()
    assert any("Nothing was saved: a note is required to resolve" in w.value for w in at.warning)
    assert Workflow(load(cfg).ops_url, subject="case").audit() == []
    at.session_state["cases_0_1_50"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    at.selectbox(key="bulk_action").select("resolve")
    at.selectbox(key="bulk_reason").select("timing_difference")
    at.text_input(key="bulk_note").input("booked in October")
    at.button(key="bulk_selected").click().run()
    log = Workflow(load(cfg).ops_url, subject="case").audit()
    assert len(log) == 2 and {r["payload"]["reason"] for r in log} == {"timing_difference"}


def test_a_bulk_action_on_a_whole_group_acts_on_every_case_in_it(bulk):
    cfg, open_queue = bulk
    at = open_queue(group="owner", grp="Revenue Assurance")
    n = int(at.dataframe[0].value.set_index("label").loc["Revenue Assurance", "cases"])
    assert n > 50  # more than the page shows: the whole group, not the page
    at.selectbox(key="bulk_group_action").select("assign")
    at.text_input(key="bulk_group_assignee").input("AR team")
    at.button(key="bulk_group_group").click().run()
    log = Workflow(load(cfg).ops_url, subject="case").audit(limit=10_000)
    assert len(log) == n and len({r["finding_key"] for r in log}) == n
    assert {r["payload"]["assignee"] for r in log} == {"AR team"}
    assert log[0]["payload"]["bulk"]["scope"] == "group Revenue Assurance"
    at = open_queue(group="owner", grp="Revenue Assurance", status=list(ACTIVE))
    assert set(at.dataframe[1].value["assignee"]) == {"AR team"}


def test_a_bulk_action_on_a_group_that_changed_acts_on_what_was_shown_and_says_so(bulk):
    cfg, open_queue = bulk
    at = open_queue(group="owner", grp="Billing Ops EMEA")
    shown = at.dataframe[0].value.set_index("label").loc["Billing Ops EMEA", "cases"]
    gone = at.dataframe[1].value["case_key"][0]
    # meanwhile a colleague resolves one of them: it leaves the active queue, so the group has changed
    Workflow(load(cfg).ops_url, subject="case").resolve(gone, "controller", "data_entry", "fixed in NetSuite")
    at.selectbox(key="bulk_group_action").select("acknowledge")
    at.button(key="bulk_group_group").click().run()
    said = " ".join(w.value for w in at.warning)
    assert "The group changed since it was shown (0 cases joined, 1 left)" in said
    assert f"applied to the {int(shown)} cases that were shown" in said
    mine = [
        r for r in Workflow(load(cfg).ops_url, subject="case").audit(limit=10_000) if r["actor"] == "analyst"
    ]
    assert len(mine) == int(shown) and gone in {r["finding_key"] for r in mine}


def test_hostile_evidence_and_names_render_as_text(bulk):
    _, open_queue = bulk
    at = open_queue(sel=warehouse_bulk.case_key(0))
    assert not at.exception
    shown = md(at)
    assert "<script>" not in shown and "**bold**" not in shown
    evidence = at.dataframe[-2].value  # the root cause's evidence fields, before the activity table
    assert warehouse_bulk.HOSTILE_EVIDENCE in evidence["value"].to_list()
    assert (
        "billed 400\\.00 USD/h, contract 463\\.00 USD/h, 1\\.0 h → 63\\.00 USD under\\-billed \\(no conversion\\)"
        in shown
    )
    at = open_queue(sel=warehouse_bulk.case_key(1))
    assert "2\\.0 h → 126\\.00 GBP under\\-billed = \\$160\\.02 at 1\\.27 on 2026\\-10\\-31" in md(
        at
    )  # the FX used
    assert "Symptom · invoice · ERP posted invoice missing in CRM" not in md(at)  # case 1 has one finding
    at = open_queue(sel=warehouse_bulk.case_key(3))
    labels = [e.label for e in at.expander]
    assert any("Root cause" in s and "T&M time billed" in s for s in labels)
    assert any("Symptom" in s and "ERP posted invoice missing in CRM" in s for s in labels)


def test_closed_cases_are_asked_for_by_status(bulk):
    _, open_queue = bulk
    at = open_queue(status="closed")
    # the bulk warehouse's closed case and the base warehouse's OPP-3 case (closed by the current run)
    assert next(m for m in at.metric if m.label == "Cases").value == "2"
    assert at.dataframe[0].value["status"].to_list() == ["✔ closed", "✔ closed"]


def test_exports_have_a_column_per_kind_and_escape_formula_cells(bulk):
    cfg, _ = bulk
    wf = Workflow(load(cfg).ops_url, subject="case")
    wf.assign(warehouse_bulk.case_key(5), "ana", '=HYPERLINK("http://evil.example","pay me")')
    run = q.published()
    info = q.run_info(run.path)
    ov = tuple(overlay(wf.states(), info.get("started_at"), dt_today()))
    filters = q.Filters(lists=(("status", tuple(ACTIVE)),))
    rows = list(
        csv.DictReader(io.StringIO(qc.export_cases_csv(run, info["as_of"], filters, ov, ADMIN).decode()))
    )
    assert len(rows) == OPEN
    assert {"leakage_rc", "exposure_rc", "cash_rc", "compliance_findings"} <= set(rows[0])
    assert not any("total" in c for c in rows[0])
    expected = kind_totals(cfg)
    for col in ("leakage_rc", "exposure_rc", "cash_rc"):
        assert sum((Decimal(r[col]) for r in rows if r[col]), Decimal(0)) == expected[col]
    hostile = next(r for r in rows if r["case_key"] == warehouse_bulk.case_key(5))
    assert hostile["assignee"].startswith("'=HYPERLINK")
    findings = list(
        csv.DictReader(io.StringIO(qc.export_findings_csv(run, info["as_of"], filters, ov, ADMIN).decode()))
    )
    assert len(findings) == 832 and {r["case_key"] for r in findings} <= {r["case_key"] for r in rows}
    assert {"impact_kind", "impact_rc", "expected_loss_rc"} <= set(findings[0])


def dt_today():
    import datetime as dt

    return dt.datetime.now(dt.UTC).date()
