"""closedloop.workflow: actions land in an append-only audit log; status folds from it and the run lifecycle."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from closedloop import ops
from closedloop.workflow import REASONS, State, Workflow, WorkflowError, audit_log, overlay

NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.date()
BEFORE = NOW - dt.timedelta(hours=1)  # a run that started before people acted
AFTER = NOW + dt.timedelta(hours=1)  # the next run, after they acted


@pytest.fixture
def wf(tmp_path):
    return Workflow(f"sqlite:///{tmp_path / 'ops.sqlite'}")


def test_every_action_is_appended_with_who_when_and_payload(wf):
    ids = [
        wf.assign("k1", "ana", "Billing Ops", note="yours", run_id="r1"),
        wf.acknowledge("k1", "bo"),
        wf.comment("k1", "bo", "customer confirmed the rate"),
        wf.resolve("k1", "bo", "data_entry", note="rate fixed in ERP"),
    ]
    assert ids == sorted(ids)
    log = wf.audit("k1")
    assert [r["action"] for r in log] == ["resolve", "comment", "acknowledge", "assign"]
    assert log[-1]["actor"] == "ana" and log[-1]["run_id"] == "r1"
    assert log[-1]["payload"] == {"assignee": "Billing Ops", "note": "yours"}
    assert log[0]["payload"]["reason"] == "data_entry"
    assert all(r["at"].tzinfo is not None or isinstance(r["at"], dt.datetime) for r in log)
    st = wf.states()["k1"]
    assert (st.status, st.assignee, st.reason, st.comments) == ("resolved", "Billing Ops", "data_entry", 1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda w: w.resolve("k", "a", "because"), "reason must be one of"),
        (lambda w: w.assign("k", "", "x"), "who is required"),
        (lambda w: w.assign("k", "a", "  "), "assignee is required"),
        (lambda w: w.comment("k", "a", ""), "comment is required"),
        (lambda w: w.comment("k", "a", "x" * 2001), "longer than"),
        (lambda w: w.allowlist("k", "a", TODAY - dt.timedelta(days=1), "ok"), "from today on"),
        (lambda w: w.allowlist("k", "a", TODAY + dt.timedelta(days=400), "ok"), "within 366 days"),
        (lambda w: w.allowlist("k", "a", TODAY, ""), "reason is required"),
    ],
)
def test_bad_actions_are_refused_and_not_logged(wf, call, message):
    with pytest.raises(WorkflowError, match=message):
        call(wf)
    assert wf.audit() == []


def test_text_is_stored_verbatim(wf):
    hostile = "'); DELETE FROM audit_log; -- <script>x</script> Ω 🚀"
    wf.comment("k", hostile, hostile)
    [row] = wf.audit("k")
    assert row["actor"] == hostile and row["payload"]["text"] == hostile


def test_a_finding_the_next_run_no_longer_reproduces_closes_itself(wf):
    wf.resolve("k", "a", "timing_difference", "booked in the next period")
    st = wf.states()["k"]
    assert st.effective("open", BEFORE, TODAY) == "resolved"  # pending the next run
    assert st.effective("resolved", AFTER, TODAY) == "closed"  # the next run did not find it
    assert State("untouched").effective("resolved", AFTER, TODAY) == "closed"


def test_a_finding_the_next_run_still_finds_reopens(wf):
    wf.resolve("k", "a", "integration_failure", "replayed the event")
    st = wf.states()["k"]
    assert st.effective("open", AFTER, TODAY) == "reopened"
    assert st.effective("reopened", AFTER, TODAY) == "reopened"
    assert State("fresh").effective("reopened", AFTER, TODAY) == "reopened"  # came back after a run closed it


def test_acting_on_a_reopened_finding_after_the_run_takes_over(wf):
    wf.acknowledge("k", "a")
    st = wf.states()["k"]
    assert st.effective("reopened", BEFORE, TODAY) == "acknowledged"
    assert st.effective("reopened", AFTER, TODAY) == "reopened"


def test_allowlist_hides_until_it_expires_and_reopen_undoes(wf):
    wf.assign("k", "a", "AR team")
    wf.allowlist("k", "a", TODAY + dt.timedelta(days=10), "accepted by the client")
    st = wf.states()["k"]
    assert st.effective("open", BEFORE, TODAY) == "allowlisted"
    assert st.effective("open", BEFORE, TODAY + dt.timedelta(days=11)) == "assigned"
    wf.reopen("k", "a", "client changed their mind")
    assert wf.states()["k"].effective("open", BEFORE, TODAY) == "assigned"


def test_overlay_rows_give_the_status_for_either_lifecycle(wf):
    wf.resolve("k1", "a", REASONS[0], "timing")
    wf.assign("k2", "a", "Billing Ops")
    rows = overlay(wf.states(), BEFORE, TODAY)
    assert rows == [("k1", "resolved", "resolved", None), ("k2", "assigned", "assigned", "Billing Ops")]
    assert overlay(wf.states(["k2"]), AFTER, TODAY) == [("k2", "assigned", "reopened", "Billing Ops")]
    assert wf.states([]) == {}


def test_migration_is_named_idempotent_and_shares_the_ops_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    Workflow(url).comment("k", "a", "one")
    Workflow(url).comment("k", "a", "two")  # migrating again changes nothing
    store = ops.OpsStore(url)
    assert store.runs() == []
    eng = sa.create_engine(url)
    with eng.connect() as c:
        names = [r[0] for r in c.execute(sa.select(ops.schema_migrations.c.name))]
        assert "004_workflow_audit" in names and names.count("004_workflow_audit") == 1
        assert c.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == 2


def test_a_resolve_without_a_reason_code_is_refused_with_a_message(wf):
    for missing in (None, "", "   "):
        with pytest.raises(WorkflowError, match="a reason code is required to resolve: choose one of"):
            wf.resolve("k", "a", missing)
    assert wf.audit() == []


def test_a_resolve_without_a_note_is_refused_with_a_message(wf):
    for missing in (None, "", "   "):
        with pytest.raises(WorkflowError, match="a note is required to resolve: say what was done"):
            wf.resolve("k", "a", "data_entry", missing)
    with pytest.raises(WorkflowError, match="a note is required to resolve"):
        wf.bulk("resolve", ["k1", "k2"], "a", reason="data_entry")
    assert wf.audit() == []
    wf.resolve("k", "a", "data_entry", "fixed the rate in the ERP")
    assert wf.audit("k")[0]["payload"] == {"reason": "data_entry", "note": "fixed the rate in the ERP"}


def test_cases_and_findings_keep_their_own_entries(tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    findings, cases = Workflow(url), Workflow(url, subject="case")
    findings.assign("same-key", "a", "Billing Ops")
    cases.resolve("same-key", "b", "data_entry", "credit memo CM-7 issued")
    assert [r["action"] for r in findings.audit()] == ["assign"]
    assert [(r["action"], r["subject"]) for r in cases.audit("same-key")] == [("resolve", "case")]
    assert findings.states()["same-key"].status == "assigned"
    assert cases.states()["same-key"].status == "resolved"
    with pytest.raises(ValueError, match="subject must be one of"):
        Workflow(url, subject="invoice")


def test_a_bulk_action_writes_one_row_per_case_in_one_batch(tmp_path):
    cases = Workflow(f"sqlite:///{tmp_path / 'ops.sqlite'}", subject="case")
    ids = cases.bulk(
        "assign", ["c1", "c2", "c2", "c3"], "ana", assignee="AR team", scope="group client = Globex"
    )
    assert len(ids) == 3  # the same case twice is one action on it
    log = cases.audit()
    assert sorted(r["finding_key"] for r in log) == ["c1", "c2", "c3"]
    assert len({r["payload"]["bulk"]["id"] for r in log}) == 1
    assert {r["payload"]["bulk"]["size"] for r in log} == {3}
    assert {r["payload"]["bulk"]["scope"] for r in log} == {"group client = Globex"}
    assert {s.assignee for s in cases.states().values()} == {"AR team"}


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("resolve", {}, "a reason code is required"),
        ("resolve", {"reason": "because"}, "reason must be one of"),
        ("resolve", {"reason": "data_entry"}, "a note is required to resolve"),
        ("assign", {"assignee": " "}, "assignee is required"),
        ("comment", {"text": "x"}, "bulk 'comment' is not offered"),
    ],
)
def test_a_bad_bulk_action_saves_nothing(tmp_path, action, fields, message):
    cases = Workflow(f"sqlite:///{tmp_path / 'ops.sqlite'}", subject="case")
    with pytest.raises(WorkflowError, match=message):
        cases.bulk(action, ["c1", "c2"], "ana", **fields)
    with pytest.raises(WorkflowError, match="no case selected"):
        cases.bulk("acknowledge", [], "ana")
    assert cases.audit() == []


def test_an_ops_store_from_before_cases_gains_the_subject_column(tmp_path):
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    eng = sa.create_engine(url)
    with eng.begin() as c:  # the store as migration 004 left it, with one entry on a finding
        ops.schema_migrations.create(c)
        for name in ("001_run_log", "002_alerts", "003_scheduler", "004_workflow_audit"):
            c.execute(ops.schema_migrations.insert().values(name=name, applied_at=NOW))
        c.execute(
            sa.text(
                "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, actor VARCHAR(200) NOT NULL,"
                " action VARCHAR(32) NOT NULL, finding_key VARCHAR(64) NOT NULL, run_id VARCHAR(64), payload TEXT NOT NULL)"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO audit_log VALUES (1, '2026-10-01 09:00:00', 'ana', 'acknowledge', 'k', NULL, '{}')"
            )
        )
    later = [name for name, _ in ops.MIGRATIONS[4:]]  # 005_audit_subject onwards, each applied once
    assert later[0] == "005_audit_subject" and ops.migrate(eng) == later
    assert Workflow(url).states()["k"].status == "acknowledged"  # the old entry is a finding's
    assert Workflow(url, subject="case").states() == {}
