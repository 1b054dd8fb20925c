"""`closedloop findings` and `closedloop trace` on a published warehouse: filters, CSV, any ID, --json."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from closedloop.cli import app
from tests.app import warehouse


@pytest.fixture
def site(tmp_path):
    warehouse.build(tmp_path / "data")
    return warehouse.write_config(tmp_path)


def invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_findings_lists_largest_dollars_first_and_filters(site):
    everything = json.loads(invoke("findings", "--json").stdout)
    impacts = [float(f["impact_rc"]) for f in everything["findings"]]
    assert everything["count"] == len(impacts) > 1 and impacts == sorted(impacts, reverse=True)
    check = everything["findings"][0]["check_id"]
    only = json.loads(invoke("findings", "--json", "--check", check.lower()).stdout)
    assert only["count"] >= 1 and {f["check_id"] for f in only["findings"]} == {check}
    rich = json.loads(invoke("findings", "--json", "--min", str(impacts[0])).stdout)
    assert rich["count"] == sum(1 for i in impacts if i >= impacts[0])
    hostile = invoke(
        "findings", "--json", "--client", "x' OR '1'='1", "--owner", "%; DROP TABLE results.finding;--"
    )
    assert hostile.exit_code == 0 and json.loads(hostile.stdout)["count"] == 0
    assert json.loads(invoke("findings", "--json").stdout)["count"] == everything["count"]  # nothing dropped


def test_findings_csv_export_holds_what_is_listed(site, tmp_path):
    path = tmp_path / "out.csv"
    result = invoke("findings", "--csv", str(path), "--limit", "3")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(path.open()))
    assert 1 <= len(rows) <= 3 and {"finding_key", "check_id", "impact_rc", "correlation_id"} <= set(rows[0])


@pytest.mark.parametrize("any_id", ["INV-2026-0001", "INV-1", "PRJ-1", "SOW-1"])
def test_trace_resolves_any_id_to_its_flow(site, any_id):
    result = invoke("trace", any_id, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["flows"]) == 1
    flow = doc["flows"][0]
    lanes = {r["lane"] for r in flow["timeline"]}
    assert {"CRM", "CLM", "ERP"} <= lanes
    assert any(r["entity_id"] == "INV-1" for r in flow["timeline"])
    same = json.loads(invoke("trace", flow["correlation_id"], "--json").stdout)
    assert same["flows"][0]["timeline"] == flow["timeline"]


def test_trace_of_an_unknown_or_hostile_id_is_a_clear_miss(site):
    result = invoke("trace", "'; DROP TABLE canon.invoice; --")
    assert result.exit_code == 2 and "nothing in the published run matches" in result.output  # issue 19
    assert invoke("trace", "INV-1", "--json").exit_code == 0  # the table is still there


def test_commands_before_any_run_say_so(tmp_path):
    (tmp_path / "closedloop.toml").write_text("[closedloop]\ndata_dir = 'data'\n")
    result = invoke("findings")
    assert result.exit_code == 1 and "no published run yet" in result.output


def test_findings_show_each_kind_apart_and_money_counted_once_per_case(site):
    import duckdb

    doc = json.loads(invoke("findings", "--json").stdout)
    assert "impact_rc" not in doc  # no single figure over every kind
    assert {k: v["findings"] for k, v in doc["by_kind"].items()} == {"cash": 2, "leakage": 3}
    assert all(f["impact_kind"] in ("leakage", "cash") for f in doc["findings"])
    run_file = next((site.parent / "data").rglob("*.duckdb"))
    con = duckdb.connect(str(run_file), read_only=True)
    leakage, cash = con.execute("SELECT sum(leakage_rc), sum(cash_rc) FROM results.cases").fetchone()
    con.close()
    assert doc["cases_by_kind"]["leakage"]["amount_rc"] == str(leakage)
    assert doc["cases_by_kind"]["cash"]["amount_rc"] == str(cash)
    assert doc["cases_by_kind"]["compliance"] == {"cases": 0, "amount_rc": None, "second_rc": None}
    only = json.loads(invoke("findings", "--json", "--kind", "cash").stdout)
    assert only["count"] == 2 and {f["impact_kind"] for f in only["findings"]} == {"cash"}
    text = invoke("findings").stdout
    assert f"leakage ${leakage:,.2f} (3 cases)" in text and f"cash ${cash:,.2f} (2 cases)" in text
    assert f"{leakage + cash:,.2f}" not in text  # never a total across kinds
    bad = invoke("findings", "--kind", "money")
    assert (
        bad.exit_code == 2
        and "--kind 'money' is not one of leakage, exposure, cash, compliance" in bad.output
    )
