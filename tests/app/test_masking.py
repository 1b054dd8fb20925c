"""Scope and masking on the server side: what each role's queries, exports and the CLI return."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from app import queries as q
from app import queries_case_detail as qd
from app import queries_cases as qc
from app import queries_overview as qo
from closedloop import access
from closedloop.access import MASKED, Principal, Scope
from closedloop.cli import app as cli

POLICY = access.Policy()
MONEY = ("leakage_rc", "exposure_rc", "cash_rc")


def role(name: str, scope: Scope = Scope()) -> Principal:
    return Principal(name, frozenset({name}), scope, POLICY.masked_for(frozenset({name})))


SUPPORT, FINANCE, EXECUTIVE = role("support"), role("finance"), role("executive")
UK_FINANCE = role("finance", Scope(legal_entities=("LE-UK",)))


@pytest.fixture
def run(site):
    r = q.published()
    return r, q.run_info(r.path)["as_of"]


def _direct(path: str, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _amounts(path: str, run_id: str) -> set[str]:
    """Every non-zero case and finding amount of the run, as text the way exports and pages print them."""
    rows = _direct(
        path,
        "SELECT leakage_rc FROM results.cases WHERE run_id = ? UNION SELECT exposure_rc FROM results.cases "
        "WHERE run_id = ? UNION SELECT cash_rc FROM results.cases WHERE run_id = ? "
        "UNION SELECT impact_rc FROM results.finding WHERE run_id = ?",
        [run_id] * 4,
    )
    return {str(v) for (v,) in rows if v is not None and v != 0}


def test_support_gets_no_amount_from_any_query(run):
    r, as_of = run
    f = q.Filters()
    t = qc.totals(r, as_of, f, (), SUPPORT)
    assert all(t[c] == MASKED for c in MONEY) and t["cases"] > 0  # counts stay, amounts never read as $0
    page = qc.page(r, as_of, f, (), 1, 50, None, None, SUPPORT)
    assert page.height > 0 and all(page[c].null_count() == page.height for c in MONEY)
    groups = qc.groups(r, as_of, f, (), "check", SUPPORT)
    assert all(groups[c].null_count() == groups.height for c in MONEY)
    key = page["case_key"][0]
    case = qd.case_detail(r.path, r.run_id, key, SUPPORT)
    assert case["leakage_rc"] in (MASKED, None) and all(case[c] in (MASKED, None) for c in MONEY)
    findings = qd.case_findings(r.path, r.run_id, key, SUPPORT)
    assert findings and all(x["impact_rc"] == MASKED for x in findings)
    for x in findings:  # evidence documents: money keys masked, the rest kept
        doc = json.loads(x["details"] or "{}")
        for k, v in doc.items():
            if access.value_kind(k) in ("amounts", "rates") and v is not None:
                assert v == MASKED, (x["check_id"], k, v)
    cid = next(c for c in page["correlation_id"] if c)
    records, flow_findings = q.trace_flow(r.path, cid, SUPPORT)
    assert records
    for rec in records:
        for k, v in rec.fields.items():
            if access.value_kind(k) == "amounts" and v is not None:
                assert v == MASKED, (rec.entity_type, k, v)
    assert all(x["impact_rc"] in (MASKED, None) for x in flow_findings)
    assert q.check_runs(r.path, SUPPORT)["impact_rc"].null_count() == q.check_runs(r.path, SUPPORT).height
    text = (
        qc.export_cases_csv(r, as_of, f, (), SUPPORT).decode()
        + qc.export_findings_csv(r, as_of, f, (), SUPPORT).decode()
    )
    leaked = {a for a in _amounts(r.path, r.run_id) if a in text}
    assert not leaked and MASKED in text


def test_finance_sees_the_amounts(run):
    r, as_of = run
    t = qc.totals(r, as_of, q.Filters(), (), FINANCE)
    (want,) = _direct(
        r.path, "SELECT CAST(coalesce(sum(leakage_rc), 0) AS DECIMAL(18,2)) FROM results.cases WHERE run_id = ?",
        [r.run_id],
    )[0]  # fmt: skip
    assert t["leakage_rc"] == want and want > 0
    text = qc.export_cases_csv(r, as_of, q.Filters(), (), FINANCE).decode()
    assert MASKED not in text and any(a in text for a in _amounts(r.path, r.run_id))


def test_a_scoped_person_sees_only_their_legal_entity(run):
    r, as_of = run
    cases, leakage = _direct(
        r.path,
        "SELECT count(*), CAST(coalesce(sum(leakage_rc), 0) AS DECIMAL(18,2)) FROM results.cases "
        "WHERE run_id = ? AND legal_entity_id = 'LE-UK'",
        [r.run_id],
    )[0]
    (everyone,) = _direct(r.path, "SELECT count(*) FROM results.cases WHERE run_id = ?", [r.run_id])[0]
    assert 0 < cases < everyone  # the fixture has cases on both sides, so the scope is tested
    t = qc.totals(r, as_of, q.Filters(), (), UK_FINANCE)
    assert (t["cases"], t["leakage_rc"]) == (cases, leakage)
    page = qc.page(r, as_of, q.Filters(), (), 1, 200, None, None, UK_FINANCE)
    uk = {k for (k,) in _direct(r.path, "SELECT case_key FROM results.cases WHERE run_id = ? AND "
                                "legal_entity_id = 'LE-UK'", [r.run_id])}  # fmt: skip
    assert set(page["case_key"]) == uk
    kinds = qo.kind_totals(r.path, r.run_id, UK_FINANCE)
    assert sum(kinds[k]["cases"] for k in ("leakage",)) <= cases
    out_of_scope = _direct(
        r.path, "SELECT case_key, correlation_id FROM results.cases WHERE run_id = ? AND legal_entity_id <> 'LE-UK'",
        [r.run_id],
    )  # fmt: skip
    key, cid = out_of_scope[0]
    assert qd.case_detail(r.path, r.run_id, key, UK_FINANCE) is None
    assert qd.case_key_for(r.path, r.run_id, key, UK_FINANCE) is None
    if cid and not _direct(
        r.path, "SELECT 1 FROM canon.project WHERE correlation_id = ? AND legal_entity_id = 'LE-UK'", [cid]
    ):
        assert q.trace_flow(r.path, cid, UK_FINANCE) == ([], [])
    csv_rows = list(
        csv.DictReader(io.StringIO(qc.export_cases_csv(r, as_of, q.Filters(), (), UK_FINANCE).decode()))
    )
    assert {row["case_key"] for row in csv_rows} == uk
    assert q.kpis(r.path, (("KPI-01", "median_days"),), UK_FINANCE).is_empty()  # firm-wide KPIs: fail closed


def test_an_executive_gets_totals_only(run):
    r, as_of = run
    assert qc.page(r, as_of, q.Filters(), (), 1, 50, None, None, EXECUTIVE).is_empty()
    assert qc.totals(r, as_of, q.Filters(), (), EXECUTIVE)["cases"] > 0
    key = _direct(r.path, "SELECT case_key FROM results.cases WHERE run_id = ? LIMIT 1", [r.run_id])[0][0]
    assert qd.case_detail(r.path, r.run_id, key, EXECUTIVE) is None
    assert qd.case_findings(r.path, r.run_id, key, EXECUTIVE) == []
    assert qo.fix_first(r, as_of, EXECUTIVE) == []
    assert len(qc.export_cases_csv(r, as_of, q.Filters(), (), EXECUTIVE).decode().strip().splitlines()) == 1


def test_the_exception_pack_is_masked_and_scoped(run):
    r, _ = run
    period = str(q.run_info(r.path)["as_of"])[:7]
    csv_bytes, page = q.exception_pack(r, period, SUPPORT)
    text = csv_bytes.decode()
    assert MASKED in text and MASKED in page
    for line in csv.DictReader(io.StringIO(text)):
        for col in ("leakage_rc", "exposure_rc", "cash_rc", "amount_rc"):
            assert line.get(col) in ("", None, MASKED), (col, line.get(col))
    with pytest.raises(Exception, match="totals only"):
        q.exception_pack(r, period, EXECUTIVE)


def test_cli_as_role(site):
    runner = CliRunner()
    refused = runner.invoke(cli, ["pack", "--period", "2026-10", "--as", "support", "--config", str(site)])
    assert refused.exit_code == 2 and "support" in refused.output
    assert runner.invoke(cli, ["findings", "--as", "executive", "--config", str(site)]).exit_code == 2
    assert runner.invoke(cli, ["findings", "--as", "nobody", "--config", str(site)]).exit_code == 2
    assert runner.invoke(cli, ["findings", "--as", "support", "--config", str(site)]).exit_code == 2
    plain = json.loads(
        runner.invoke(cli, ["findings", "--as", "finance", "--json", "--config", str(site)]).stdout
    )
    assert any(Decimal(str(f["impact_rc"])) > 0 for f in plain["findings"])
    cid = next(f["correlation_id"] for f in plain["findings"] if f["correlation_id"] and f["impact_rc"])
    masked = runner.invoke(cli, ["trace", cid, "--as", "support", "--json", "--config", str(site)])
    assert masked.exit_code == 0, masked.output
    flow = json.loads(masked.stdout)["flows"][0]
    assert flow["findings"] and all(f["impact_rc"] in (MASKED, None) for f in flow["findings"])
    money = [
        (k, v) for r in flow["timeline"] for k, v in r["fields"].items() if access.value_kind(k) == "amounts"
    ]
    assert money and all(v in (MASKED, None) for _, v in money)
    table = runner.invoke(cli, ["trace", cid, "--as", "support", "--config", str(site)])
    assert table.exit_code == 0 and MASKED in table.output
    unmasked = json.loads(runner.invoke(cli, ["trace", cid, "--json", "--config", str(site)]).stdout)
    assert MASKED not in json.dumps(unmasked)  # without --as: the operator on the machine, as before


def test_masked_frames_keep_their_columns():
    df = pl.DataFrame({"leakage_rc": [Decimal("1.00")], "case_key": ["k"]})
    out = q.mask_frame(df, SUPPORT)
    assert out.columns == df.columns and out["leakage_rc"].to_list() == [None]
