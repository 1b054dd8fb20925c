"""A run end to end on files and SQL sources: publish only when whole, keep the last good, carry history."""

from __future__ import annotations

import json
import sqlite3

import duckdb
import pytest

from closedloop import pipeline, settings
from closedloop.runlock import RunInProgress, RunLock
from closedloop.warehouse import Warehouse

MAPPING = """
INSERT INTO canon.client (client_id, name, country, source_system, source_id, snapshot_ts)
SELECT id, name, country, '${source}', id, _extracted_at FROM raw.${source}__accounts;
"""


def make_firm(tmp_path, *, accounts="id,name,country\nA1,Acme,US\nA2,Globex,DE\n"):
    (tmp_path / "crm").mkdir(exist_ok=True)
    (tmp_path / "crm" / "accounts.csv").write_text(accounts)
    (tmp_path / "erp").mkdir(exist_ok=True)
    (tmp_path / "erp" / "invoices.jsonl").write_text('{"id": "I1", "amount": "10.00"}\n')
    (tmp_path / "crm_mapping.sql").write_text(MAPPING)
    db = tmp_path / "billing.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE IF NOT EXISTS payments(id TEXT, amount NUMERIC)")
        c.execute("DELETE FROM payments")
        c.execute("INSERT INTO payments VALUES ('P1', 10.0)")
    cfg = tmp_path / "closedloop.toml"
    cfg.write_text(
        "[closedloop]\nas_of = '2026-10-31'\n"
        "[sources.crm]\nkind = 'files'\npath = 'crm'\nstreams = {accounts = 'accounts*.csv'}\nmapping = 'crm_mapping.sql'\n"
        "[sources.erp]\nkind = 'files'\npath = 'erp'\nstreams = {invoices = '*.jsonl'}\n"
        f"[sources.billing]\nkind = 'sql'\ntransport = 'api'\nurl = 'sqlite:///{db}'\nstreams = {{payments = 'payments'}}\n"
    )
    return settings.load(cfg)


def test_the_report_times_each_step_for_the_benchmark(tmp_path):
    cfg = make_firm(tmp_path)
    steps = pipeline.run(cfg, with_checks=False).as_dict()["steps"]
    assert set(steps) == {
        "collect.crm",
        "collect.erp",
        "collect.billing",
        "contracts",
        "canonical",
        "publish",
    }
    assert steps["collect.crm"]["rows"] == 2 and steps["canonical"]["rows"] == 2
    for step in steps.values():
        assert step["wall_seconds"] >= 0 and step["cpu_seconds"] >= 0 and step["peak_rss_mb"] > 0


def published_clients(cfg):
    con = Warehouse.at(cfg.data_dir).connect_published()
    try:
        return sorted(r[0] for r in con.execute("SELECT name FROM canon.client").fetchall())
    finally:
        con.close()


def test_a_good_run_is_published_with_lineage_and_run_metadata(tmp_path):
    cfg = make_firm(tmp_path)
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "ok" and report.published, report.errors
    assert published_clients(cfg) == ["Acme", "Globex"]
    con = Warehouse.at(cfg.data_dir).connect_published()
    assert con.execute("SELECT count(*) FROM raw.billing__payments").fetchone()[0] == 1
    assert con.execute("SELECT status FROM meta.run").fetchone()[0] == "ok"
    sources = con.execute("SELECT source, stream, rows, status FROM meta.source_run ORDER BY 1").fetchall()
    assert sources == [
        ("billing", "payments", 1, "ok"),
        ("crm", "accounts", 2, "ok"),
        ("erp", "invoices", 1, "ok"),
    ]
    meta = "SELECT row_count, extract_status FROM canon.snapshot_meta WHERE source_system = 'crm'"
    assert con.execute(meta + " AND table_name = 'client'").fetchone() == (2, "ok")
    con.close()


def test_a_malformed_row_fails_the_source_keeps_the_others_and_the_last_good_run(tmp_path):
    cfg = make_firm(tmp_path)
    first = pipeline.run(cfg, with_checks=False)
    make_firm(tmp_path, accounts="id,name,country\nA1,Acme,US,extra\n")
    second = pipeline.run(cfg, with_checks=False)
    assert second.status == "partial" and not second.published
    assert any("source crm, stream accounts, file accounts.csv, row 1" in e for e in second.errors)
    ok = {s.source: s.status for s in second.sources}
    assert ok == {"crm": "failed", "erp": "ok", "billing": "ok"}
    assert Warehouse.at(cfg.data_dir).published()["run_id"] == first.run_id
    assert published_clients(cfg) == ["Acme", "Globex"]


def test_a_missing_export_directory_and_a_broken_mapping_never_publish(tmp_path):
    cfg = make_firm(tmp_path)
    good = pipeline.run(cfg, with_checks=False)
    (tmp_path / "crm_mapping.sql").write_text(
        "INSERT INTO canon.client (client_id) SELECT nosuch FROM raw.crm__accounts;"
    )
    bad = pipeline.run(cfg, with_checks=False)
    assert bad.status == "failed" and not bad.published
    assert "crm_mapping.sql line 1" in bad.errors[-1] and "nosuch" in bad.errors[-1]
    cfg.sources["erp"]["path"] = str(tmp_path / "gone")
    (tmp_path / "crm_mapping.sql").write_text(MAPPING)
    gone = pipeline.run(cfg, with_checks=False)
    assert gone.status == "partial" and "does not exist" in " ".join(gone.errors)
    assert Warehouse.at(cfg.data_dir).published()["run_id"] == good.run_id


def test_collect_one_source_carries_the_others_forward(tmp_path):
    cfg = make_firm(tmp_path)
    pipeline.run(cfg, with_checks=False)
    make_firm(tmp_path, accounts="id,name,country\nA1,Acme,US\nA2,Globex,DE\nA3,Initech,US\n")
    report = pipeline.run(cfg, only=["crm"], with_checks=False)
    assert report.status == "ok" and report.published
    assert published_clients(cfg) == ["Acme", "Globex", "Initech"]
    con = Warehouse.at(cfg.data_dir).connect_published()
    assert con.execute("SELECT count(*) FROM raw.billing__payments").fetchone()[0] == 1
    con.close()
    with pytest.raises(pipeline.PipelineError, match="unknown source"):
        pipeline.run(cfg, only=["nosuch"], with_checks=False)


def test_history_is_carried_forward_and_old_runs_are_pruned(tmp_path):
    cfg = make_firm(tmp_path)
    cfg.values["warehouse"]["retention_runs"] = 2
    ids = [pipeline.run(cfg, with_checks=False).run_id for _ in range(4)]
    wh = Warehouse.at(cfg.data_dir)
    con = wh.connect_published()
    assert [
        r[0] for r in con.execute("SELECT run_id FROM meta.run_history ORDER BY run_id").fetchall()
    ] == ids
    con.close()
    assert len(list(wh.runs_dir.glob("*.duckdb"))) == 2


def test_a_second_run_while_one_holds_the_lock_gets_a_clear_message(tmp_path):
    cfg = make_firm(tmp_path)
    lock = RunLock(cfg.data_dir)
    lock.acquire("other-run")
    try:
        with pytest.raises(RunInProgress, match=r"already in progress .*other-run"):
            pipeline.run(cfg, with_checks=False)
    finally:
        lock.release()
    assert pipeline.run(cfg, with_checks=False).status == "ok"


def test_the_published_file_opens_read_only_while_a_run_writes(tmp_path):
    cfg = make_firm(tmp_path)
    pipeline.run(cfg, with_checks=False)
    reader = Warehouse.at(cfg.data_dir).connect_published()
    second = pipeline.run(cfg, with_checks=False)  # a new file: the reader is never in the way
    assert second.published
    assert reader.execute("SELECT count(*) FROM canon.client").fetchone()[0] == 2
    reader.close()
    with pytest.raises(duckdb.Error):
        Warehouse.at(cfg.data_dir).connect_published().execute("CREATE TABLE x(i INT)")


def test_cli_run_and_runs(tmp_path):
    from typer.testing import CliRunner

    from closedloop.cli import app

    make_firm(tmp_path)
    result = CliRunner().invoke(app, ["run", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "ok" and doc["sources"]["crm"]["rows"] == 2
    listed = json.loads(CliRunner().invoke(app, ["runs", "--json"]).stdout)
    assert listed[0]["run_id"] == doc["run_id"] and listed[0]["current"]
    bad = CliRunner().invoke(app, ["run", "--config", "nope.toml"])
    assert bad.exit_code == 2 and "config file not found" in bad.output


def test_sql_files_split_on_statements_not_on_semicolons_in_strings_or_comments():
    sql = "-- a comment; with a semicolon and a 'quote\nSELECT 'a;b' AS x;\n/* block; comment */\nSELECT \"c;d\" FROM t; -- tail\n\n-- only a comment;\n"
    stmts = pipeline.split_statements(sql)
    assert [line for line, _ in stmts] == [1, 3]
    assert stmts[0][1].endswith("SELECT 'a;b' AS x;")
    assert 'SELECT "c;d" FROM t;' in stmts[1][1]


def test_two_partial_collects_in_a_row_keep_every_source(tmp_path):
    cfg = make_firm(tmp_path)
    pipeline.run(cfg, with_checks=False)
    first = pipeline.run(cfg, only=["crm"], with_checks=False)
    second = pipeline.run(cfg, only=["erp"], with_checks=False)
    assert first.published and second.published
    con = Warehouse.at(cfg.data_dir).connect_published()
    status = dict(con.execute("SELECT source, status FROM meta.source_run").fetchall())
    assert status == {"crm": "carried", "erp": "ok", "billing": "carried"}
    assert con.execute("SELECT count(*) FROM raw.billing__payments").fetchone()[0] == 1
    con.close()
    assert published_clients(cfg) == ["Acme", "Globex"]


def test_recheck_collects_nothing_and_keeps_all_data(tmp_path):
    cfg = make_firm(tmp_path)
    pipeline.run(cfg, with_checks=False)
    again = pipeline.run(cfg, only=[], with_checks=False)
    assert again.published and {s.status for s in again.sources} == {"carried"}
    assert published_clients(cfg) == ["Acme", "Globex"]


def test_a_vendor_source_with_no_export_directory_fails_alone(tmp_path):
    cfg = make_firm(tmp_path)
    text = (tmp_path / "closedloop.toml").read_text() + "[sources.middleware]\npath = 'nowhere'\n"
    (tmp_path / "closedloop.toml").write_text(text)
    cfg = settings.load(tmp_path / "closedloop.toml")
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "partial" and not report.published
    assert {s.source: s.status for s in report.sources}["middleware"] == "failed"
    assert "does not exist" in " ".join(report.errors)
    assert report.canon_rows["client"] == 2  # the other sources were still mapped


def test_check_settings_reach_the_rules_and_the_kpis(tmp_path, monkeypatch):
    import checks.kpis

    make_firm(tmp_path)
    path = tmp_path / "closedloop.toml"
    path.write_text(
        path.read_text() + "[checks]\nparams = {sla_sow_to_project_bd = 7, dso_days = 30}\n"
        "disabled = ['Q2C-063']\n"
    )
    cfg = settings.load(path)
    seen = {}
    real = checks.kpis.compute_kpis

    def spy(con, **kw):
        seen.update(kw)
        return real(con, **kw)

    monkeypatch.setattr(checks.kpis, "compute_kpis", spy)
    report = pipeline.run(cfg)
    assert report.checks["disabled"] == 1 and seen["params"] == {"sla_sow_to_project_bd": 7, "dso_days": 30}
    con = duckdb.connect(report.warehouse_file, read_only=True)
    try:
        runs = {
            r[0]: (r[1], json.loads(r[2]))
            for r in con.execute(
                "SELECT check_id, status, params FROM results.check_run WHERE run_id = ?", [report.run_id]
            ).fetchall()
        }
        assert runs["Q2C-063"][0] == "disabled"
        assert runs["Q2C-010"][1]["sla_sow_to_project_bd"] == 7
        assert con.execute("SELECT count(*) FROM results.kpi WHERE run_id = ?", [report.run_id]).fetchone()[0]
    finally:
        con.close()
