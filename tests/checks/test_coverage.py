"""Coverage on an estate unlike the demo's: vendor values in its own words, a property the tenant lacks.

The generated firm's exports are rewritten the way another firm's systems would hold them, then collected
through the files transport. With the value map configured the answer key matches exactly; without it the
flows holding the unknown value are left unjudged (no false finding); a check whose input the tenant lacks
is not covered and names the setting, while every other check still matches the key.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from closedloop import pipeline
from closedloop.cli import app
from closedloop.demo import answer, generate_firm, write_demo
from closedloop.demo.config import write_demo_config
from closedloop.settings import load
from tests.checks.test_answer_key import RECONCILED_CHECKS

SIGNED_MAP = """
[sources.ironclad.values]
"sow.status" = {"Fully Signed" = "executed"}
"contract.status" = {"Fully Signed" = "executed"}
"amendment.status" = {"Fully Signed" = "executed"}
"""


@pytest.fixture(scope="module")
def firm_exports(tmp_path_factory):
    firm = generate_firm("s", seed=1)
    root = tmp_path_factory.mktemp("coverage-firm")
    write_demo(firm, root / "demo")
    return firm, root / "demo"


def _estate(src, dst, rewrite) -> None:
    """A copy of the demo directory with its vendor exports rewritten by `rewrite(path, text) -> text`."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("warehouse", "*.sqlite"))
    for path in (dst / "exports").rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".json"):
            text = path.read_text()
            new = rewrite(path, text)
            if new != text:
                path.write_text(new)


def _run(directory, firm, extra: str = ""):
    cfg = load(write_demo_config(directory, firm.params["as_of"], extra=extra))
    report = pipeline.run(cfg, trigger="test")
    assert report.status == "ok", report.as_dict()
    con = duckdb.connect(report.warehouse_file, read_only=True)
    return con, report


def _signed(path, text: str) -> str:
    """Ironclad's executed agreements in this tenant's words: 'Fully Signed'; NetSuite in display values."""
    if path.parent.name == "records":
        return text.replace(
            '"agreementStatus":{"type":"string","value":"executed"}',
            '"agreementStatus":{"type":"string","value":"Fully Signed"}',
        )
    if path.name == "transaction.jsonl":  # NetSuite's display values, known to the built-in defaults
        return text.replace('"status":"paid"', '"status":"Paid In Full"').replace(
            '"status":"posted"', '"status":"Open"'
        )
    return text


def test_a_value_map_in_config_gives_the_answer_key_exactly(firm_exports, tmp_path):
    firm, demo = firm_exports
    _estate(demo, tmp_path / "mapped", _signed)
    con, report = _run(tmp_path / "mapped", firm, SIGNED_MAP)
    got = answer.score(answer.findings(con, report.run_id), firm.answer_key, sorted(RECONCILED_CHECKS))
    bad = [s.explain() for s in got.values() if not s.exact]
    assert not bad, "\n".join(bad)
    assert con.execute("SELECT count(*) FROM meta.unmapped_value").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM canon.invoice WHERE status = 'paid'").fetchone()[0] > 0


def test_unmapped_values_leave_their_flows_unjudged_never_breached(firm_exports, tmp_path):
    firm, demo = firm_exports
    _estate(demo, tmp_path / "unmapped", _signed)
    con, report = _run(tmp_path / "unmapped", firm)
    unmapped = con.execute(
        "SELECT DISTINCT table_name, vendor_value, setting FROM meta.unmapped_value ORDER BY 1"
    ).fetchall()
    assert ("sow", "Fully Signed", 'sources.ironclad.values."sow.status"') in unmapped
    got = answer.score(answer.findings(con, report.run_id), firm.answer_key, sorted(RECONCILED_CHECKS))
    spurious = [s.explain() for s in got.values() if s.spurious or s.wrong_impact]
    assert not spurious, "\n".join(spurious)  # no false finding from a status the config does not know
    partly = dict(
        con.execute(
            "SELECT item_id, not_judged FROM results.coverage WHERE run_id = ? AND status = 'partly covered'",
            [report.run_id],
        ).fetchall()
    )
    assert "Q2C-001" in partly and partly["Q2C-001"] > 0  # won opportunities whose SOW status is unknown
    summary = report.as_dict()["checks"]["coverage"]
    gap = next(g for g in summary["gaps"] if g["id"] == "Q2C-001")
    assert 'sources.ironclad.values."sow.status"' in gap["settings"]
    assert any("'Fully Signed' unmapped" in m for m in gap["missing"])
    cli = CliRunner().invoke(
        app, ["coverage", "--config", str(tmp_path / "unmapped" / "closedloop.toml"), "--json"]
    )
    assert cli.exit_code == 0, cli.output
    shown = json.loads(cli.output)
    assert shown["partly covered"] == summary["partly covered"] + sum(
        1 for i in shown["items"] if i["kind"] == "kpi" and i["status"] == "partly covered"
    )
    assert next(i for i in shown["items"] if i["id"] == "Q2C-001")["not_judged"] == partly["Q2C-001"]


def _no_expense_cap(path, text: str) -> str:
    if path.name == "metadata.json":
        doc = json.loads(text)
        doc["properties"].pop("expenseCap")
        return json.dumps(doc, indent=2)
    if path.name == "statementOfWork.jsonl":
        lines = []
        for line in text.splitlines():
            rec = json.loads(line)
            rec["properties"].pop("expenseCap", None)
            lines.append(json.dumps(rec, separators=(",", ":")))
        return "\n".join(lines) + "\n"
    return text


def test_a_property_the_tenant_lacks_makes_its_checks_not_covered(firm_exports, tmp_path):
    firm, demo = firm_exports
    _estate(demo, tmp_path / "nocap", _no_expense_cap)
    con, report = _run(tmp_path / "nocap", firm)
    rows = con.execute(
        "SELECT item_id, missing, settings FROM results.coverage WHERE run_id = ? AND status = 'not covered'",
        [report.run_id],
    ).fetchall()
    not_covered = {r[0] for r in rows}
    assert "Q2C-036" in not_covered  # expenses outside policy: the SOW's expense cap is its input
    for _, missing, settings in rows:
        assert "sources.ironclad.properties.expense_cap" in json.loads(settings)
        assert any("expenseCap" in m for m in json.loads(missing))
    statuses = dict(
        con.execute(
            "SELECT check_id, status FROM results.check_run WHERE run_id = ?", [report.run_id]
        ).fetchall()
    )
    assert {statuses[c] for c in not_covered} == {"not_covered"}  # reported as such, never as passed
    covered = sorted(RECONCILED_CHECKS - not_covered)
    got = answer.score(answer.findings(con, report.run_id), firm.answer_key, covered)
    bad = [s.explain() for s in got.values() if not s.exact]
    assert not bad, "\n".join(bad)
    found = answer.findings(con, report.run_id)
    assert found.filter(found["check_id"].is_in(sorted(not_covered))).height == 0
