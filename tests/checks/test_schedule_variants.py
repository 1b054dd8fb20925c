"""Billing-schedule and milestone modeling variants: the same firm rendered the way another firm's NetSuite and
CLM hold schedules and milestones, collected through the files transport with the same setting in its config,
gives the estate's answer key exactly. (The charge-billing and clm-milestones estate profiles are judged over the
vendor APIs through the sandbox in tests/demo/test_profiles.py.)

- billing_schedules = 'charges': SuiteBilling charge records instead of billing-schedule records.
- milestone_schedules = 'clm_milestones': the milestones live in the CLM and are the only schedule of
  milestone-billed SOWs. The key is the estate's (closedloop.demo.variants, schedule_key.py): Q2C-022 cannot be
  judged and coverage says so, naming the setting; the SOWs whose ERP milestone lines carried an injected
  drift are judged on their milestone plan.
- milestone_acceptance = 'project_task': a PSA milestone's status and completion/acceptance dates live on its
  project task (ismilestone, custevent_milestone_id), not on the custom milestone record.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from closedloop import pipeline
from closedloop.demo import answer, generate_firm
from closedloop.demo.config import write_demo_config
from closedloop.demo.exports import render_exports
from closedloop.demo.schedule_key import not_judged
from closedloop.demo.variants import answer_key
from closedloop.settings import ConfigError, load
from tests.checks.test_answer_key import RECONCILED_CHECKS

CHARGES = {"netsuite": {"billing_schedules": "charges"}}
CLM_MILESTONES = {"netsuite": {"milestone_schedules": "clm_milestones"}}
ON_TASKS = {"netsuite": {"milestone_acceptance": "project_task"}}


@pytest.fixture(scope="module")
def firm():
    return generate_firm("s", seed=1)


def _score(report, firm, key=None, checks=RECONCILED_CHECKS) -> list[str]:
    assert report.status == "ok", report.as_dict()
    con = duckdb.connect(report.warehouse_file, read_only=True)
    got = answer.score(
        answer.findings(con, report.run_id),
        firm.answer_key if key is None else key,
        sorted(checks),
    )
    con.close()
    return [s.explain() for s in got.values() if not s.exact]


def test_charges_through_files_give_the_answer_key(firm, tmp_path):
    counts = render_exports(firm, tmp_path / "exports", CHARGES)
    assert counts["netsuite"]["charge"] == firm.tables["billing_schedule"].height
    assert not (tmp_path / "exports" / "netsuite" / "billingschedule_line.jsonl").exists()
    path = write_demo_config(tmp_path, firm.params["as_of"], sections=CHARGES)
    report = pipeline.run(load(path), trigger="test")
    assert not _score(report, firm)
    con = duckdb.connect(report.warehouse_file, read_only=True)
    types = dict(con.execute("SELECT line_type, count(*) FROM canon.billing_schedule GROUP BY 1").fetchall())
    assert set(types) == {"fixed", "milestone"}  # 'Fixed Date' and 'Milestone' through the NetSuite defaults
    assert con.execute("SELECT count(*) FROM meta.unmapped_value").fetchone()[0] == 0


def test_an_unknown_billing_schedules_value_names_the_key_and_the_choices(tmp_path):
    path = write_demo_config(tmp_path, "2026-10-31", sections={"netsuite": {"billing_schedules": "invoices"}})
    with pytest.raises(ConfigError) as err:
        load(path)
    assert "sources.netsuite.billing_schedules" in str(err.value)
    assert "billing_schedule, charges" in str(err.value)


def test_clm_milestones_as_the_schedule_give_the_estate_key(firm, tmp_path):
    profile = CLM_MILESTONES
    counts = render_exports(firm, tmp_path / "exports", profile)
    milestones = firm.tables["milestone"].height
    assert counts["ironclad"]["milestone"] == milestones and counts["netsuite"]["milestone"] == 0
    erp = firm.tables["billing_schedule"].filter(firm.tables["billing_schedule"]["milestone_id"].is_null())
    assert counts["netsuite"]["billingschedule_line"] == erp.height  # no ERP lines for the milestones
    path = write_demo_config(tmp_path, firm.params["as_of"], sections=profile)
    report = pipeline.run(load(path), trigger="test")
    unjudged = not_judged(profile)
    assert unjudged == {"Q2C-022"}
    assert not _score(report, firm, answer_key(firm, profile), RECONCILED_CHECKS - unjudged)
    con = duckdb.connect(report.warehouse_file, read_only=True)
    status, settings = con.execute(
        "SELECT status, settings FROM results.coverage WHERE run_id = ? AND item_id = 'Q2C-022'",
        [report.run_id],
    ).fetchone()
    assert status == "not covered" and json.loads(settings) == ["sources.netsuite.milestone_schedules"]
    assert con.execute(
        "SELECT status FROM results.check_run WHERE run_id = ? AND check_id = 'Q2C-022'", [report.run_id]
    ).fetchone() == ("not_covered",)
    # every other check stays covered: the schedule's totals and ages judge the milestone plan's money
    others = con.execute(
        "SELECT item_id FROM results.coverage WHERE run_id = ? AND status <> 'covered'", [report.run_id]
    ).fetchall()
    assert others == [("Q2C-022",)]
    derived = con.execute(
        "SELECT count(*), sum(amount) FROM canon.billing_schedule WHERE source_system = 'ironclad'"
    ).fetchone()
    plan = con.execute(
        "SELECT count(*), sum(amount) FROM canon.milestone WHERE project_id IN"
        " (SELECT project_id FROM canon.project)"
    ).fetchone()
    assert derived == plan and derived[0] > 0


def test_milestone_acceptance_on_project_tasks_gives_the_answer_key(firm, tmp_path):
    render_exports(firm, tmp_path / "exports", ON_TASKS)
    ns = tmp_path / "exports" / "netsuite"
    records = [json.loads(x) for x in (ns / "customrecord_cl_milestone.jsonl").read_text().splitlines()]
    tasks = [json.loads(x) for x in (ns / "projecttask.jsonl").read_text().splitlines()]
    assert records and not any("custrecord_accepted_date" in r or "custrecord_status" in r for r in records)
    accepted = [t for t in tasks if t.get("ismilestone") == "T" and "custevent_accepted_date" in t]
    assert (
        len(accepted)
        == firm.tables["milestone"].filter(firm.tables["milestone"]["accepted_date"].is_not_null()).height
    )
    path = write_demo_config(tmp_path, firm.params["as_of"], sections=ON_TASKS)
    report = pipeline.run(load(path), trigger="test")
    assert not _score(report, firm)
    assert answer_key(firm, ON_TASKS).equals(firm.answer_key)


def test_the_default_estate_key_is_the_generators(firm):
    assert answer_key(firm, {}).equals(firm.answer_key) and not not_judged({})
    assert answer_key(firm, CHARGES).equals(firm.answer_key)  # charges keep every schedule line's id


def test_guarded_statements_run_only_in_their_variant_and_keep_line_numbers(tmp_path):
    import collectors.netsuite as ns
    from closedloop.canonical import select_variants
    from closedloop.sqlfiles import PipelineError, split_statements

    sql = "SELECT 1;\n-- when billing_schedules = 'charges'\nSELECT\n2;\nSELECT 3;\n"
    default = select_variants(sql, ns, {}, tmp_path / "m.sql")
    assert [s for _, s in split_statements(default)] == ["SELECT 1;", "SELECT 3;"]
    assert split_statements(default)[1][0] == 5  # an error still names the file's own line
    charges = select_variants(sql, ns, {"billing_schedules": "charges"}, tmp_path / "m.sql")
    assert len(split_statements(charges)) == 3
    with pytest.raises(PipelineError, match="not a setting"):
        select_variants("-- when nope = 'x'\nSELECT 1;", ns, {}, tmp_path / "m.sql")


def test_discover_on_a_charges_account_finds_the_charges_and_maps_their_types(tmp_path):
    from closedloop import discover as disc
    from closedloop import settings as cfgmod
    from closedloop.sandbox import Sandbox
    from tests.collectors import firm_fixture
    from tests.sandbox.helpers import api_cfg

    render_exports(firm_fixture.build(), tmp_path / "exports", CHARGES)
    with Sandbox(tmp_path / "exports") as sb:
        raw = {k: v for k, v in api_cfg(sb, "netsuite", **CHARGES["netsuite"]).items() if k != "kind"}
        cfg = cfgmod.parse({"sources": {"netsuite": raw}}, None).sources["netsuite"]
        env = sb.secrets()
        report = disc.run("netsuite", cfg, lambda name: env.get(f"CLOSEDLOOP_NETSUITE_{name.upper()}"))
    found = {f.wanted.column: f.status for f in report.findings["charge"]}
    assert found["chargedate"] == found["chargetype"] == "found"
    assert "billingschedule_line" not in report.findings
    types = next(v for v in report.value_maps if v.canonical == "billing_schedule.line_type")
    assert types.stream == "charge" and types.pairs.get("Fixed Date") == "fixed"
