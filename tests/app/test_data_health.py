"""The Data health page: contracts with samples, monitors, why sources failed, the scheduler and Run now."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from closedloop import scheduler, serving, settings
from closedloop.ops import OpsStore, run_request


def text_of(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return " ".join(parts).replace("\\", "").replace("**", "").replace("`", "")


def frames(at) -> list:
    return [d.value for d in at.dataframe]


def frame_with(at, column: str, value: str, has: str | None = None):
    """The first table whose `column` holds `value` (as text), and that has the column `has`."""
    for df in frames(at):
        if has is not None and has not in df.columns:
            continue
        if column in df.columns and value in df[column].astype(str).tolist():
            return df
    raise AssertionError(f"no table has {value!r} in {column!r}")


@pytest.fixture
def admin(site, monkeypatch):
    """The local user has the admin role only, and is the one acting."""
    site.write_text(site.read_text() + "\n[access]\nlocal_roles = ['admin']\n", encoding="utf-8")
    monkeypatch.setenv("CLOSEDLOOP_APP_USER", "ops@example.com")
    return site


def test_contracts_show_the_failing_stream_its_history_and_samples(app):
    at = app("data_health")
    assert not at.exception, [e.value for e in at.exception]
    contracts = frame_with(at, "stream", "opportunity", has="expectations")
    opp = contracts[contracts["stream"] == "opportunity"].iloc[0]
    assert opp["status"] == "✕ failed" and opp["critical"] == 1 and opp["history"] == "✓✕"
    inv = contracts[contracts["stream"] == "canon.invoice"].iloc[0]
    assert inv["status"] == "! warning"
    labels = [e.label for e in at.expander]
    assert any("critical · salesforce · opportunity · Id unique — 2 of 400 rows" in lbl for lbl in labels)
    # an expectation's sample failing keys are built when its expander is opened (a rerun), not on first paint
    at.session_state["expectation_salesforce_opportunity_Id unique"] = True
    at.session_state["expectation_canon_canon.invoice_client_id resolves to client.client_id"] = True
    at.run()
    assert frame_with(at, "Id", "006-DUP-1") is not None  # the sample failing keys
    assert frame_with(at, "invoice_id", "INV-9") is not None


def test_monitors_show_the_numbers_behind_the_verdict(app):
    at = app("data_health")
    mons = frame_with(at, "monitor", "volume")
    breach = mons[mons["source"] == "ironclad"].iloc[0]
    assert breach["status"] == "✕ breach" and "40 rows vs median 400" in breach["numbers"]
    assert breach["history"] == "✓✕"
    assert "Renewal_Date__c" in " ".join(mons["numbers"])  # schema drift: the added field
    at.toggle(key="mon_only").set_value(False).run()  # all verdicts, ok ones too
    assert "freshness" in frame_with(at, "monitor", "freshness")["monitor"].tolist()


def test_failed_sources_say_why_and_what_they_suppressed(app):
    at = app("data_health")
    text = text_of(at)
    for source, why in (
        ("middleware", "HTTP 503"),
        ("salesforce", "opportunity: Id unique"),
        ("ironclad", "records: 40 rows vs median 400"),
    ):
        assert f"{source} failed this run" in text and why in text
    sup = frame_with(at, "check_id", "Q2C-011")
    assert sup.iloc[0]["because_of"] == "ironclad"  # Q2C-011 reads canon.sow, which ironclad feeds
    assert next(m.value for m in at.metric if m.label == "Checks suppressed") == "1"


def test_scheduler_state_lists_the_jobs(site, app):
    scheduler.build(settings.load(site), poll=False).shutdown(wait=False)  # persists the default 'run' job
    at = app("data_health")
    jobs = frame_with(at, "job", "run")
    assert jobs.iloc[0]["schedule"] == "0 */6 * * *" and jobs.iloc[0]["next run"].endswith("UTC")
    assert "No scheduler has run yet" in text_of(at)


def test_run_now_is_absent_for_a_non_admin(site, app):
    site.write_text(site.read_text() + "\n[access]\nlocal_roles = ['support']\n", encoding="utf-8")
    at = app("data_health")
    assert not at.exception, [e.value for e in at.exception]
    assert not [b for b in at.button if b.key == "run_now"]
    assert "Run now is for admins" in text_of(at) and "for the admin role" in text_of(at)


def test_an_admin_requests_a_run_and_sees_it_pending(admin, app):
    at = app("data_health")
    at.button(key="run_now").click().run()
    assert not at.exception, [e.value for e in at.exception]
    ops = OpsStore(settings.load(admin).ops_url)
    with ops.engine.connect() as conn:
        rows = conn.execute(sa.select(run_request.c.status, run_request.c.requested_by)).fetchall()
    assert [tuple(r) for r in rows] == [("pending", "ops@example.com")]
    assert "Run request #1 is pending" in text_of(at)
    assert at.button(key="run_now").disabled  # one queued run is enough
    assert frame_with(at, "by", "ops@example.com").iloc[0]["status"] == "… pending"


def test_a_newer_failed_attempt_is_called_out_at_the_top(site, app):
    ops = OpsStore(settings.load(site).ops_url)
    ops.run_started("20991231T000000000Z-late01", trigger="schedule", warehouse_file="x.duckdb")
    ops.run_finished(
        "20991231T000000000Z-late01", status="failed", errors=["source netsuite: HTTP 401 from /token"]
    )
    at = app("data_health")
    assert "20991231T000000000Z-late01" in at.warning[0].value and "HTTP 401" in at.warning[0].value


def test_coverage_says_what_is_missing_and_the_setting_that_fills_it(app):
    at = app("data_health")
    assert not at.exception
    assert "2 of 4 checks and KPIs are covered by this firm's data; 1 partly, 1 not covered" in text_of(at)
    gaps = frame_with(at, "check / KPI", "Q2C-075", has="set in closedloop.toml")
    row = gaps[gaps["check / KPI"] == "Q2C-075"].iloc[0]
    assert row["status"] == "not covered"
    assert "custbody_credit_reason is not in the source" in row["what is missing"]
    assert row["set in closedloop.toml"] == "sources.netsuite.custom_fields.custbody_credit_reason"
    partly = gaps[gaps["check / KPI"] == "Q2C-001"].iloc[0]
    assert partly["findings not judged"] == 3 and "Fully Signed" in partly["what is missing"]
    assert "Q2C-010" not in gaps["check / KPI"].tolist()  # covered checks are not listed as gaps


def test_a_config_typo_and_the_schedulers_last_outcome_show_on_data_health(app, site, monkeypatch):
    from closedloop import lastgood

    monkeypatch.setattr(lastgood, "_APP", lastgood.LastGood())  # this test's own app process state
    cfg = settings.load(site)
    serving.record_status(  # what `serve` records after a failed retry (tests/closedloop/test_fail_loudly.py)
        cfg,
        outcome_at=dt.datetime(2026, 12, 6, 3, 0, 5, tzinfo=dt.UTC),
        run_id="20261206T030000000Z-abc123",
        trigger="retry",
        status="failed",
        reason="MemoryError: out of memory building canon.invoice",
        seconds=12.5,
        retry="retry 2/2 at 2026-12-06 03:02:05 UTC",
    )
    at = app("data_health")
    assert not at.exception, [e.value for e in at.exception]
    warned = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "20261206T030000000Z-abc123" in warned and "ended **failed**" in warned
    assert "MemoryError: out of memory" in warned and "retry 2/2 at 2026-12-06 03:02:05 UTC" in warned
    assert not [e for e in at.error if "stopped parsing" in e.value]

    site.write_text(site.read_text() + "\n[closedloop\n", encoding="utf-8")  # a typo while the app runs
    at.run()
    assert not at.exception, [e.value for e in at.exception]  # the page still draws, on the last good config
    (err,) = [e.value.replace("\\", "") for e in at.error if "stopped parsing" in e.value]
    assert str(site) in err and "not valid TOML" in err and "last good config" in err


def test_the_overview_says_how_the_last_scheduled_run_ended(app, site):
    cfg = settings.load(site)
    serving.record_status(
        cfg,
        outcome_at=dt.datetime(2026, 12, 6, 3, 0, 5, tzinfo=dt.UTC),
        run_id="r1",
        trigger="schedule",
        status="partial",
        reason="source crm failed",
        seconds=3.0,
        retry="retry 1/2 at 2026-12-06 03:01:05 UTC",
    )
    at = app("overview")
    assert not at.exception, [e.value for e in at.exception]
    (line,) = [c.value.replace("\\", "") for c in at.caption if "Last scheduled run" in c.value]
    assert "ended **partial** at 2026-12-06 03:00:05 UTC" in line and "retry 1/2" in line
