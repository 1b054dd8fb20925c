"""Monitors: a dropped column, a source that stops updating and a volume collapse are caught and gate the checks.

Monitors only observe (results.monitor); the rules Q2C-105/106/109 turn this run's observations into findings.
"""

from __future__ import annotations

import datetime as dt
import json

from closedloop import monitors, pipeline
from closedloop.warehouse import Warehouse
from tests.closedloop.test_contracts import ACCOUNTS, SF_ACCOUNT, SF_OPP, make_firm, run_file


def monitor_rows(report, monitor):
    con = run_file(report)
    try:
        return con.execute(
            "SELECT source, stream, status, value, threshold, detail FROM results.monitor WHERE run_id = ?"
            " AND monitor = ? ORDER BY 1, 2",
            [report.run_id, monitor],
        ).fetchall()
    finally:
        con.close()


def findings(report, check_id):
    con = run_file(report)
    try:
        return con.execute(
            "SELECT entity_id, severity, owner_team, status, details FROM results.finding WHERE run_id = ?"
            " AND check_id = ? ORDER BY 1",
            [report.run_id, check_id],
        ).fetchall()
    finally:
        con.close()


def test_a_dropped_column_is_schema_drift_that_fails_the_source_not_the_run(tmp_path):
    cfg = make_firm(tmp_path)
    good = pipeline.run(cfg, with_checks=False)
    assert good.published
    make_firm(tmp_path, accounts=ACCOUNTS.replace("id,name", "id,nom"))  # 'name' gone, 'nom' new
    report = pipeline.run(cfg)
    assert report.status == "partial" and not report.published  # the mapping still bound: not 'failed'
    assert {s.source for s in report.sources if s.status == "failed"} == {"crm"}
    (row,) = [r for r in monitor_rows(report, "schema") if r[1] == "accounts"]
    assert row[2] == "breach" and json.loads(row[5]) == {"added": ["nom"], "removed": ["name"]}
    (f,) = findings(report, "Q2C-109")  # the rule's finding, from the monitor's observation
    assert f[0] == "crm.accounts" and f[1] == "S2" and f[2] == "Data Platform" and f[3] == "open"
    assert json.loads(f[4])["fields_removed"] == ["name"] and json.loads(f[4])["fields_added"] == ["nom"]
    assert Warehouse.at(cfg.data_dir).published()["run_id"] == good.run_id


def test_monitors_alone_write_no_findings(tmp_path):
    cfg = make_firm(tmp_path)
    pipeline.run(cfg, with_checks=False)
    make_firm(tmp_path, accounts=ACCOUNTS.replace("id,name", "id,nom"))
    report = pipeline.run(cfg, with_checks=False)
    assert [r[2] for r in monitor_rows(report, "schema") if r[1] == "accounts"] == ["breach"]
    con = run_file(report)
    try:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'results'"
            ).fetchall()
        }
        assert (
            "finding" not in tables or not con.execute("SELECT count(*) FROM results.finding").fetchone()[0]
        )
    finally:
        con.close()


def test_a_declared_field_that_disappears_is_drift(tmp_path):
    cfg = make_firm(tmp_path)
    pipeline.run(cfg, with_checks=False)
    make_firm(tmp_path, sf_opps=[{k: v for k, v in SF_OPP.items() if k != "Amount"}])
    report = pipeline.run(cfg, with_checks=False)
    drift = {r[1]: (r[2], json.loads(r[5])) for r in monitor_rows(report, "schema") if r[0] == "salesforce"}
    assert drift["opportunity"] == ("breach", {"removed": ["Amount"]})
    assert "salesforce" in report.trust["failed_sources"]


def test_a_source_that_stops_updating_is_stale_and_its_checks_are_suppressed(tmp_path):
    old = "2026-09-01T00:00:00.000+0000"
    cfg = make_firm(
        tmp_path,
        sf_accounts=[{**SF_ACCOUNT, "SystemModstamp": old}],
        sf_opps=[{**SF_OPP, "SystemModstamp": old}],
    )
    report = pipeline.run(cfg)
    assert report.status == "partial" and not report.published
    fresh = {r[0]: r for r in monitor_rows(report, "freshness")}
    assert fresh["salesforce"][2] == "breach" and fresh["salesforce"][3] > 24 * 50
    # judged at the business date (as_of 2026-10-31, end of day), not at today's clock
    assert json.loads(fresh["salesforce"][5])["evaluated_at"].startswith("2026-11-01T00:00:00")
    assert fresh["crm"][2] == "ok"  # no cursor: only its snapshot age counts, and it was just taken
    con = run_file(report)
    status = dict(
        con.execute(
            "SELECT check_id, status FROM results.check_run WHERE run_id = ?", [report.run_id]
        ).fetchall()
    )
    con.close()
    assert status["Q2C-001"] == "suppressed"
    (f,) = findings(report, "Q2C-105")  # the rule reads the freshness monitor's breach
    assert f[0] == "salesforce" and f[1] == "S1" and status["Q2C-105"] == "failed"
    assert json.loads(f[4])["sla_hours"] == 72.0 and json.loads(f[4])["hours_old"] > 24 * 50


def test_a_volume_collapse_is_a_partial_extract(tmp_path):
    many = "id,name\n" + "".join(f"A{i},Client {i}\n" for i in range(40))
    cfg = make_firm(tmp_path, accounts=many)
    for _ in range(3):
        assert pipeline.run(cfg, with_checks=False).published
    make_firm(tmp_path, accounts="id,name\nA1,Client 1\nA2,Client 2\n")
    report = pipeline.run(cfg)
    vol = {r[1]: r for r in monitor_rows(report, "volume")}
    assert vol["accounts"][2] == "breach" and vol["accounts"][3:5] == (2.0, 40.0)
    assert vol["deals"][2] == "ok"
    assert report.status == "partial" and not report.published
    (f,) = findings(report, "Q2C-106")
    assert f[0] == "crm.accounts" and f[1] == "S2"
    evidence = json.loads(f[4])
    assert (evidence["row_count"], evidence["trailing_median"], evidence["gates"]) == (2, 40.0, True)


def test_findings_keep_their_history_and_resolve(tmp_path):
    cfg = make_firm(tmp_path)
    cfg.values["warehouse"]["publish_partial"] = True
    pipeline.run(cfg)
    make_firm(tmp_path, accounts=ACCOUNTS.replace("id,name", "id,nom"))
    first = pipeline.run(cfg)
    assert first.published and findings(first, "Q2C-109")[0][3] == "open"
    make_firm(tmp_path)  # the column comes back: drift again (added), the removal is resolved
    pipeline.run(cfg)
    con = Warehouse.at(cfg.data_dir).connect_published()
    hist = dict(
        con.execute(
            "SELECT entity_id, status FROM results.finding_history WHERE check_id = 'Q2C-109'"
        ).fetchall()
    )
    con.close()
    assert hist == {"crm.accounts": "open"}  # still drifting (name back, nom gone): one finding, same key


def test_the_freshness_clock_is_the_business_date_capped_at_the_run():
    from closedloop import settings

    cfg = settings.parse({"closedloop": {"as_of": "2026-10-31"}}, None)
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    assert monitors.evaluation_time(cfg, now) == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    early = dt.datetime(2026, 10, 31, 9, tzinfo=dt.UTC)
    assert monitors.evaluation_time(cfg, early) == early
