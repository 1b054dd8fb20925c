"""The exception pack: the month's cases by kind with evidence and audit trail, as safe CSV and self-contained HTML."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from closedloop import access, settings
from closedloop import pack as pmod
from closedloop.case_audit import case_workflow
from closedloop.cli import app
from closedloop.warehouse import Warehouse
from tests.app import warehouse

HOSTILE_NOTE = "<script>alert('note')</script> & \"quoted\""
HOSTILE_EVIDENCE = "<img src=x onerror=alert(1)>"
FORMULAS = ('=HYPERLINK("http://evil.example")', "+SUM(A1:A9)", "-2+3", "@cmd")


@pytest.fixture
def site(tmp_path):
    """The app's two-run warehouse, one finding's evidence made hostile, and people's actions in the ops store."""
    cfg_path = warehouse.write_config(tmp_path)
    warehouse.build(tmp_path / "data")
    cfg = settings.load(cfg_path)
    path = Warehouse.at(cfg.data_dir).runs_dir / Warehouse.at(cfg.data_dir).published()["file"]
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "UPDATE results.finding SET details = ? WHERE finding_key = 'k-032-hostile'",
            [json.dumps({"evidence": HOSTILE_EVIDENCE, "note": FORMULAS[0]})],
        )
        keys = dict(con.execute("SELECT money_id, case_key FROM results.case_history").fetchall())
    finally:
        con.close()
    wf = case_workflow(cfg.ops_url)
    wf.assign(keys["INV-2"], "ana@firm.example", FORMULAS[3], note=FORMULAS[1])
    wf.comment(keys["INV-2"], "ana@firm.example", HOSTILE_NOTE)
    wf.comment(keys["INV-2"], FORMULAS[2], "a person whose name starts like a formula")
    wf.resolve(keys["OPP-3"], "bea@firm.example", "data_entry", "SOW filed late")
    return cfg_path, cfg, keys


def _build(cfg, period="2026-10"):
    con = Warehouse.at(cfg.data_dir).connect_published()
    try:
        return pmod.build_pack(con, period, cfg.ops_url)
    finally:
        con.close()


def test_the_period_holds_its_open_and_resolved_cases_by_kind(site):
    _, cfg, keys = site
    pack = _build(cfg)
    by_key = {c["case_key"]: c for c in pack.cases}
    # breaks in October: INV-2 (2 Oct), the hostile time entry (20 Oct), OPP-3 (15 Oct, closed by the run);
    # not INV-1 (1 Sep), SOW-1 (29 Jun), SOW-2 (3 Aug)
    hostile = next(k for k, c in by_key.items() if c["money_type"] == "time_entry")
    assert set(by_key) == {keys["INV-2"], keys["OPP-3"], hostile}
    assert by_key[keys["OPP-3"]]["group"] == "resolved" and by_key[keys["OPP-3"]]["status"] == "closed"
    assert by_key[keys["OPP-3"]]["resolved_by"] == "bea@firm.example"
    assert by_key[keys["INV-2"]]["group"] == "open" and by_key[keys["INV-2"]]["assignee"] == FORMULAS[3]
    assert by_key[keys["INV-2"]]["age_days"] == 29 and by_key[keys["INV-2"]]["age_bucket"] == "0-30"
    totals = pmod.summary(pack)
    assert totals["leakage"]["open"] == {"cases": 1, "amount_rc": Decimal("999.99"), "expected loss": None}
    assert totals["cash"]["open"]["amount_rc"] == Decimal("3100.00")
    assert totals["exposure"]["resolved"]["amount_rc"] == Decimal("20000.00")
    assert totals["exposure"]["open"] == {"cases": 0, "amount_rc": Decimal("0.00")}
    assert set(totals["compliance"]["open"]) == {"cases", "by_severity"}  # a count, never an amount
    assert [f["check_id"] for f in pack.evidence[keys["INV-2"]]] == ["Q2C-070"]
    assert [a["action"] for a in pack.audit[keys["INV-2"]]] == ["assign", "comment", "comment"]


def test_csv_cells_that_would_start_a_formula_are_text(site):
    _, cfg, keys = site
    rows = list(csv.DictReader(io.StringIO(_build(cfg).csv.decode("utf-8"))))
    assert {r["record"] for r in rows} == {"case", "finding", "audit"}
    audit = [r for r in rows if r["record"] == "audit" and r["case_key"] == keys["INV-2"]]
    assert audit[0]["note"] == f"assignee: {FORMULAS[3]}; note: {FORMULAS[1]}"  # starts with a letter: as is
    assert audit[2]["actor"] == "'" + FORMULAS[2]
    case = next(r for r in rows if r["record"] == "case" and r["case_key"] == keys["INV-2"])
    assert case["assignee"] == "'" + FORMULAS[3] and case["cash_rc"] == "3100.00" and case["leakage_rc"] == ""
    evidence = next(r for r in rows if r["record"] == "finding" and r["entity_type"] == "time_entry")
    assert evidence["evidence"].startswith("evidence: <img") and FORMULAS[0] in evidence["evidence"]
    for r in rows:
        for value in r.values():
            assert not (value or "").startswith(("=", "+", "-", "@")), (r["record"], value)
    assert not any(k in rows[0] for k in ("total", "total_rc", "amount_all"))  # no column adds kinds


def test_html_is_one_self_contained_page_where_hostile_text_stays_text(site):
    _, cfg, _ = site
    page = _build(cfg).html
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;note&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "O&#x27;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;" in page  # the hostile client name
    tag_refs = r"<(link|iframe|object|embed|img|script)\b|<[^>]*\s(src|href|srcset)=|url\(|@import"
    assert not re.search(tag_refs, page, re.I)  # no outside asset, no link out: escaped text has no raw '<'
    assert "October 2026" in page and "20,000.00 USD" in page and "3,100.00 USD" in page
    # the kinds stay apart: no sum of two or three of them is written anywhere
    for total in ("21,000.00", "20,999.99", "23,100.00", "4,099.99", "24,099.99", "23,099.99"):
        assert total not in page


@pytest.mark.parametrize("period", ["2026-13", "oct", "2026-1", "2026-00", "26-10", ""])
def test_a_period_that_is_not_a_month_exits_2_naming_it(site, period):
    cfg_path, _, _ = site
    result = CliRunner().invoke(app, ["pack", "--period", period, "--config", str(cfg_path)])
    assert result.exit_code == 2
    assert f"period {period!r} is not a month" in result.output


def test_pack_writes_both_files_and_says_what_is_in_them(site, tmp_path):
    cfg_path, cfg, _ = site
    out = tmp_path / "close"
    result = CliRunner().invoke(
        app, ["pack", "--period", "2026-10", "--out", str(out), "--config", str(cfg_path)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "pack-2026-10.csv").read_bytes() == _build(cfg).csv
    assert (out / "pack-2026-10.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "leakage: open 1" in result.output and "compliance: open 0" in result.output
    doc = json.loads(
        CliRunner()
        .invoke(app, ["pack", "--period", "2026-09", "--out", str(out), "--config", str(cfg_path), "--json"])
        .stdout
    )
    assert doc["cases"] == 1 and doc["kinds"]["leakage"]["open"]["amount_rc"] == "48250.50"  # INV-1, 1 Sep


def test_pack_before_any_run_says_so(tmp_path):
    (tmp_path / "closedloop.toml").write_text("[closedloop]\ndata_dir = 'data'\n")
    result = CliRunner().invoke(
        app, ["pack", "--period", "2026-10", "--config", str(tmp_path / "closedloop.toml")]
    )
    assert result.exit_code == 1 and "no published run yet" in result.output


def test_the_app_offers_the_same_pack(site, monkeypatch):
    import streamlit as st

    from app import queries as q

    cfg_path, cfg, _ = site
    monkeypatch.setenv("CLOSEDLOOP_CONFIG", str(cfg_path))
    st.cache_resource.clear()
    csv_bytes, page = q.exception_pack(q.published(), "2026-10", access.Policy().local("analyst"))
    expected = _build(cfg)
    assert csv_bytes == expected.csv
    stamp = re.compile(r"generated [^·]+·")  # the moment each was made differs; nothing else may
    assert stamp.sub("", page) == stamp.sub("", expected.html) and stamp.search(page)
    with pytest.raises(pmod.PackError, match="'2026-13'"):
        q.exception_pack(q.published(), "2026-13", access.Policy().local("analyst"))
