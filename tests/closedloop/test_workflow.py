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
    wf.resolve("k", "a", "timing_difference")
    st = wf.states()["k"]
    assert st.effective("open", BEFORE, TODAY) == "resolved"  # pending the next run
    assert st.effective("resolved", AFTER, TODAY) == "closed"  # the next run did not find it
    assert State("untouched").effective("resolved", AFTER, TODAY) == "closed"


def test_a_finding_the_next_run_still_finds_reopens(wf):
    wf.resolve("k", "a", "integration_failure")
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
    wf.resolve("k1", "a", REASONS[0])
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
