"""Every role × every page, action and export, signed in through AppTest.user with sign-in configured: what each
role sees, a refusal (and its audit row) for whatever a role lacks, and the audit of what people open and do.

Sign-in mode needs an [auth] table in ./.streamlit/secrets.toml of the cwd (Streamlit reads no other place for
it), so these tests chdir to a directory holding one; its values are placeholders no provider is asked about.
"""

from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from closedloop import access, settings
from closedloop.audit import AuditLog
from closedloop.workflow import Workflow
from tests.app.conftest import APP

ROLES = ("executive", "finance", "support", "admin")
PEOPLE = {role: {"is_logged_in": True, "email": f"{role}@corp.test", "groups": [role]} for role in ROLES}
PEOPLE["no role"] = {"is_logged_in": True, "email": "nobody@corp.test", "groups": ["q2c-visitors"]}
PEOPLE["anonymous"] = {"is_logged_in": False}
CASE_LINK = "k-010-sow2"  # a finding key of the fixture warehouse: its case opens beside the queue
TITLES = {page: title for page, title in access.PAGES.items()} | {"findings": "Findings queue"}


@pytest.fixture
def signin(site, tmp_path, monkeypatch):
    """Sign-in configured: [auth] in the cwd's .streamlit/secrets.toml (placeholders; nothing is contacted)."""
    home = tmp_path / "cwd"
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:8599/oauth2callback"\n'
        'cookie_secret = "matrix-test-cookie-secret-not-a-real-one"\n'
        'client_id = "closedloop-test"\n'
        'client_secret = "matrix-test-client-secret"\n'
        'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(home)
    st.secrets._reset()  # Streamlit parses secrets once per process: read this directory's
    yield site
    st.secrets._reset()  # and the next test reads its own cwd's (monkeypatch restores the cwd after this)


def open_as(who: str | dict, page: str = "overview", **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.user = PEOPLE[who] if isinstance(who, str) else who
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"views/{page}.py")  # also the overview: "/" is the first page of the person's menu
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def audit(site, event: str | None = None) -> list[dict]:
    rows = AuditLog(settings.load(site).ops_url).read(events=[event] if event else ())
    return list(reversed(rows))  # oldest first: the order things happened in


def titles(at) -> list[str]:
    return [t.value for t in at.title]


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def menu(at) -> set[str]:
    """The pages the sidebar lists (each a page link)."""
    by_title = {title: page for page, title in access.PAGES.items()}
    return {by_title[p.proto.label] for p in at.sidebar.get("page_link")}


# ---- pages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", list(access.PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_its_pages_and_a_refusal_is_audited(signin, role, page):
    at = open_as(role, page)
    if page in access.ROLE_PAGES[role]:
        assert TITLES[page] in titles(at) and "does not open this page" not in errors(at)
        assert not [r for r in audit(signin, "denied") if r["subject"] == page]
    else:
        assert f"Your role ({role}) does not open this page." in errors(at)
        assert not at.dataframe and not at.metric and not at.download_button  # nothing else was drawn
        [row] = [r for r in audit(signin, "denied") if r["subject"] == page]
        assert row["actor"] == f"{role}@corp.test" and row["roles"] == role
        assert json.loads(row["detail"]) == {"why": "page not allowed for role"}
    assert menu(at) == set(access.ROLE_PAGES[role])


@pytest.mark.parametrize("page", list(access.PAGES))
def test_someone_without_a_role_sees_a_page_saying_so_and_nothing_else(signin, page):
    at = open_as("no role", page)
    assert titles(at) == ["No access"] and "no closedloop role is given to you" in errors(at)
    assert not at.dataframe and not at.metric and not menu(at)
    [row] = audit(signin, "denied")
    assert (row["actor"], row["subject"], json.loads(row["detail"])) == (
        "nobody@corp.test",
        page,
        {"why": "no role"},
    )


@pytest.mark.parametrize("page", list(access.PAGES))
def test_nobody_signed_in_is_asked_to_sign_in_on_every_page(signin, page):
    at = open_as("anonymous", page, sel=CASE_LINK, id="CID-0001")
    assert titles(at) == ["Sign in"] and [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.metric and not at.tabs and not menu(at)
    assert audit(signin) == []  # nobody to attribute anything to


@pytest.mark.parametrize("page", list(access.PAGES))
def test_local_mode_shows_its_banner_on_every_page(site, page):
    at = open_as({"is_logged_in": False}, page)
    assert any("Local mode" in i.value and "127.0.0.1" in i.value for i in at.info)
    assert TITLES[page] in titles(at)  # the local user has every role by default


def test_a_sign_in_is_recorded_once(signin):
    open_as("finance", "trace")
    open_as("finance", "findings")
    [row] = audit(signin, "sign_in")
    assert row["actor"] == "finance@corp.test" and row["roles"] == "finance"


# ---- actions on a case ----------------------------------------------------------------------------------------


def tab_labels(at) -> list[str]:
    return [t.label for t in at.tabs]


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_a_case_shows_only_the_actions_of_the_role(signin, role):
    at = open_as(role, "findings", sel=CASE_LINK)
    mine = [label for action, label in _case_actions() if action in access.ROLE_ACTIONS[role]]
    assert tab_labels(at) == mine
    assert _has(at, "bulk_action") == (role == "finance")  # the bulk form: finance's assign/ack/resolve
    assert bool(at.download_button) == (role == "finance")
    if role == "admin":
        assert any("Exports are for finance" in c.value for c in at.caption)


def _case_actions() -> list[tuple[str, str]]:
    from app.workflow_panel import CASE_ACTIONS

    return list(CASE_ACTIONS.items())


def _has(at, key: str) -> bool:
    return any(getattr(w, "key", None) == key for w in at.selectbox)


def _case(at) -> str:
    return at.query_params["sel"][0] if isinstance(at.query_params["sel"], list) else at.query_params["sel"]


def test_finance_resolves_with_a_reason_and_a_note_as_themselves(signin):
    at = open_as("finance", "findings", sel=CASE_LINK)
    case = _case(at)
    at.selectbox(key=f"resolve_reason_{case}").select("data_entry")
    next(b for b in at.button if b.label == "Resolve").click().run()
    assert "a note is required to resolve" in errors(at)
    assert Workflow(settings.load(signin).ops_url, subject="case").audit(case) == []
    at.selectbox(key=f"resolve_reason_{case}").select("data_entry")
    at.text_input(key=f"resolve_note_{case}").input("credit memo CM-7 issued")
    next(b for b in at.button if b.label == "Resolve").click().run()
    [row] = Workflow(settings.load(signin).ops_url, subject="case").audit(case)
    assert row["actor"] == "finance@corp.test" and row["payload"]["note"] == "credit memo CM-7 issued"
    [wf] = audit(signin, "workflow")
    assert wf["actor"] == "finance@corp.test" and wf["subject"] == f"resolve case {case}"


# A form drawn for one role and submitted by a request of another (a role changed, a stale tab): the callback
# asks who sent it, refuses, audits the refusal and saves nothing.
STALE = [
    ("finance", "admin", "resolve", "Resolve"),
    ("finance", "admin", "assign", "Assign"),
    ("finance", "admin", "acknowledge", "Acknowledge"),
    ("admin", "finance", "allowlist", "Allowlist"),
]


@pytest.mark.parametrize(("drawn_for", "sent_by", "action", "button"), STALE)
def test_an_action_the_sender_lacks_is_refused_and_audited(signin, drawn_for, sent_by, action, button):
    at = open_as(drawn_for, "findings", sel=CASE_LINK)
    case = _case(at)
    if action == "resolve":
        at.selectbox(key=f"resolve_reason_{case}").select("data_entry")
        at.text_input(key=f"resolve_note_{case}").input("fixed")
    if action == "allowlist":
        at.text_input(key=f"allow_why_{case}").input("accepted by the controller")
    at.user = PEOPLE[sent_by]
    next(b for b in at.button if b.label == button).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Nothing was saved: your role does not" in errors(at)
    assert Workflow(settings.load(signin).ops_url, subject="case").audit(case) == []
    denied = [r for r in audit(signin, "denied") if r["subject"] == f"{action} {case}"]
    assert len(denied) == 1 and denied[0]["actor"] == f"{sent_by}@corp.test"
    assert json.loads(denied[0]["detail"]) == {"why": "action not allowed for role"}


def test_a_bulk_action_the_sender_lacks_is_refused_and_audited(signin):
    at = open_as("finance", "findings")
    at.session_state["cases_0_1_50"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    at.selectbox(key="bulk_action").select("acknowledge")
    at.user = PEOPLE["admin"]  # admins open the queue, but do not acknowledge cases
    at.button(key="bulk_selected").click().run()
    assert any("Nothing was saved: your role does not acknowledge cases" in w.value for w in at.warning)
    assert Workflow(settings.load(signin).ops_url, subject="case").audit() == []
    [row] = audit(signin, "denied")
    assert row["actor"] == "admin@corp.test" and row["subject"] == "acknowledge 2 selected"
    at.user = PEOPLE["finance"]
    at.session_state["cases_0_1_50"] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    at.selectbox(key="bulk_action").select("acknowledge")
    at.button(key="bulk_selected").click().run()
    log = Workflow(settings.load(signin).ops_url, subject="case").audit()
    assert len(log) == 2 and {r["actor"] for r in log} == {"finance@corp.test"}
    assert len(audit(signin, "workflow")) == 2


# ---- exports ----------------------------------------------------------------------------------------------------


EXPORTS = ["export_cases", "export_findings", "export_pack_html", "export_pack_csv"]


@pytest.mark.parametrize("key", EXPORTS)
def test_a_download_is_audited_with_its_filters_and_row_count(signin, key):
    at = open_as("finance", "findings", check=["Q2C-010"])
    cases = int(next(m.value for m in at.metric if m.label == "Cases").replace(",", ""))
    at.download_button(key=key).click().run()
    assert not at.exception
    [row] = audit(signin, "export")
    detail = json.loads(row["detail"])
    assert row["actor"] == "finance@corp.test" and detail["filters"]["check"] == ["Q2C-010"]
    assert isinstance(detail["rows"], int) and detail["rows"] >= 1
    if key == "export_cases":
        assert detail["rows"] == cases  # the cases the filters select, as the page counts them


@pytest.mark.parametrize("key", EXPORTS)
def test_a_download_by_a_role_without_export_is_refused_and_audited(signin, key):
    at = open_as("finance", "findings")
    at.user = PEOPLE["admin"]  # admins see the queue but do not export it
    at.download_button(key=key).click().run()
    assert audit(signin, "export") == []
    [row] = audit(signin, "denied")
    assert row["actor"] == "admin@corp.test" and row["subject"].startswith("export ")
    assert not at.download_button  # and the admin's page draws no export


def test_the_audit_page_download_is_for_admins_and_audited(signin):
    at = open_as("admin", "audit")
    at.download_button(key="export_audit").click().run()
    [row] = audit(signin, "export")
    assert row["actor"] == "admin@corp.test" and row["subject"] == "audit log"
    assert json.loads(row["detail"])["rows"] >= 1
    at.user = PEOPLE["finance"]
    at.download_button(key="export_audit").click().run()
    assert len(audit(signin, "export")) == 1
    assert [r["subject"] for r in audit(signin, "denied")] == ["export audit log", "audit"]


# ---- views of a case and a trace, run requests --------------------------------------------------------------


def test_opening_a_case_is_recorded_once_per_case_per_session(signin):
    at = open_as("finance", "findings", sel=CASE_LINK)
    case = _case(at)
    at.run()  # the same case again, in the same session
    [row] = audit(signin, "view_case")
    assert (row["actor"], row["subject"]) == ("finance@corp.test", case)
    assert json.loads(row["detail"])["link"] == CASE_LINK
    open_as("finance", "findings", sel=case)  # another session
    assert len(audit(signin, "view_case")) == 2


def test_each_trace_lookup_is_recorded(signin):
    at = open_as("support", "trace", id="CID-0001")
    at.run()  # a rerun is not a new lookup
    at.text_input(key="trace_id").input("INV-9").run()
    rows = audit(signin, "view_trace")
    assert [(r["actor"], r["subject"]) for r in rows] == [
        ("support@corp.test", "CID-0001"),
        ("support@corp.test", "INV-9"),
    ]
    assert json.loads(rows[0]["detail"])["flows"] == ["CID-0001"]


def test_support_sees_a_flows_findings_without_links_to_the_queue(signin):
    at = open_as("support", "trace", id="CID-0001")
    listing = " ".join(m.value for m in at.markdown)
    assert "**Q2C" in listing and "findings?" not in listing
    at = open_as("finance", "trace", id="CID-0001")
    assert "findings?sel=" in " ".join(m.value for m in at.markdown)


def test_run_now_is_the_admins_and_a_stale_click_by_another_role_is_refused(signin):
    at = open_as("admin", "data_health")
    at.button(key="run_now").click().run()
    [row] = audit(signin, "run_request")
    assert row["actor"] == "admin@corp.test" and row["subject"] == "request #1"
    at = open_as("admin", "data_health")
    assert at.button(key="run_now").disabled  # one queued run is enough
    at = open_as("support", "data_health")
    assert not [b for b in at.button if b.key == "run_now"]
    assert "Run now is for admins" in " ".join(m.value for m in at.markdown).replace("**", "")


def test_a_run_now_click_sent_by_a_role_without_it_is_refused(signin):
    at = open_as("admin", "data_health")
    at.user = PEOPLE["support"]  # support opens data health, but does not run
    at.button(key="run_now").click().run()
    assert audit(signin, "run_request") == []
    [row] = audit(signin, "denied")
    assert (row["actor"], row["subject"]) == ("support@corp.test", "run_request")


# ---- the executive's overview: totals only ----------------------------------------------------------------------


def test_the_executive_sees_totals_trends_and_kpis_and_no_case_list(signin):
    at = open_as("executive")
    assert {m.label for m in at.metric} >= {
        "Revenue leakage",
        "Exposure",
        "Cash delayed",
        "Compliance breaks",
    }
    assert any("Totals only for your role" in i.value for i in at.info)
    assert not at.get("page_link") or all(
        "findings" not in p.proto.page and "data_health" not in p.proto.page for p in at.get("page_link")
    )
    assert "Open evidence" not in " ".join(m.value for m in at.markdown)
    finance = open_as("finance")
    assert not any("Totals only" in i.value for i in finance.info)
    assert any(p.proto.label == "Open evidence →" for p in finance.get("page_link"))
