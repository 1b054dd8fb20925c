"""Dynamics 365 Sales over the sandbox's Dataverse Web API: the same engine as Project Operations, its own tables."""

from __future__ import annotations

import pytest

from closedloop.canonical import mapping_sql
from closedloop.demo.exports import render_exports
from closedloop.pipeline import CANON_DIR, run_sql_file
from closedloop.sandbox import PageCaps, Sandbox
from closedloop.sandbox.faults import parse_fault
from collectors.dynamics_sales import MAPPING, generated_mapping
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_collector, collect, connect, files_collector, raw_rows

KIND = "dynamics_sales"


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    root = tmp_path_factory.mktemp("dynamics")
    render_exports(firm_fixture.build(), root, systems=(KIND, "ironclad", "dynamics_project"))
    return root


def test_the_mapping_file_is_the_one_the_entities_declare():
    assert MAPPING.read_text(encoding="utf-8") == generated_mapping()


@pytest.mark.parametrize(
    "specs",
    [(), ("rate_limit@dynamics_sales:every=2,seconds=0.01", "token_expiry@dynamics_sales:every=3")],
)
def test_api_and_files_land_identical_raw_and_canon_tables(estate, specs):
    with Sandbox(estate, faults=[parse_fault(s) for s in specs], caps=PageCaps()) as sb:
        via_api, via_files = connect(), connect()
        collector = api_collector(sb, KIND, page_size=1)
        res = collect(via_api, collector)
        if specs:
            assert sb.state.counts[(KIND, 429)] >= 1 and sb.state.counts[(KIND, 401)] >= 1
            assert collector.auth.tokens_minted >= 2
    want = collect(via_files, files_collector(estate, KIND))
    assert res.status == "ok", res.errors
    assert [(s.stream, s.rows) for s in res.streams] == [(s.stream, s.rows) for s in want.streams]
    for st in res.streams:
        assert raw_rows(via_api, st.table) == raw_rows(via_files, st.table), st.table
    for con in (via_api, via_files):
        run_sql_file(con, CANON_DIR / "schema.sql")
        run_sql_file(con, *mapping_sql(KIND, {"kind": KIND}))
    for table in ("client", "opportunity", "crm_invoice_status"):
        q = f"SELECT * EXCLUDE (snapshot_ts) FROM canon.{table} ORDER BY ALL"
        rows = via_api.execute(q).fetchall()
        assert rows and rows == via_files.execute(q).fetchall(), table
    # every opportunity's account lookup resolved to the account's business key
    assert (
        via_api.execute("SELECT count(*) FROM canon.opportunity WHERE client_id IS NULL").fetchone()[0] == 0
    )


def test_discover_finds_the_sales_tables_and_drafts_the_label_maps(estate):
    import tomllib

    from closedloop import discover as disc
    from closedloop import settings as cfgmod

    with Sandbox(estate) as sb:
        cfg = cfgmod.parse({"sources": {KIND: sb.source_config()[KIND]}}, None).sources[KIND]
        env = sb.secrets()
        report = disc.run(KIND, cfg, lambda n: env.get(f"CLOSEDLOOP_{KIND.upper()}_{n.upper()}"))
    statuses = {(s, f.wanted.column): f.status for s, fs in report.findings.items() for f in fs}
    assert statuses[("opportunity", "_parentaccountid_value")] == "found"
    assert statuses[("invoice", "invoicenumber")] == "found"
    assert report.settings == {}
    drafted = cfgmod.parse(tomllib.loads(disc.draft(report, cfg)), None).sources[KIND]
    assert drafted["transport"] == "api" and drafted["org_url"] == cfg["org_url"]
