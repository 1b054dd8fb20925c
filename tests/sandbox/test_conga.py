"""Conga CLM through the Salesforce org on the sandbox: the Apttus objects over /query (and Bulk API 2.0) give
the raw tables the file exports give, with the org's faults, a dropped field and a hidden object tolerated."""

from __future__ import annotations

import httpx
import pytest

from closedloop import valuemaps
from closedloop.demo.exports import render_exports
from closedloop.sandbox import PageCaps, Sandbox, find_exports, parse_fault
from closedloop.sandbox import conga as conga_sandbox
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_collector, build_canon, collect, connect, files_collector, raw_rows

SYSTEMS = ("salesforce", "conga", "netsuite")
AGREEMENT, LINE = "Apttus__APTS_Agreement__c", "Apttus__AgreementLineItem__c"


@pytest.fixture(scope="module")
def conga_exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("conga-exports")
    render_exports(firm_fixture.build(), root, systems=SYSTEMS)
    return root


def run(root, *specs: str, **cfg):
    faults = [parse_fault(s) for s in specs]
    with Sandbox(root, faults=faults, caps=PageCaps(salesforce=1)) as sb:
        con = connect()
        return collect(con, api_collector(sb, "conga", **cfg)), con, sb


def assert_as_files(root, res, con) -> None:
    assert res.status == "ok", res.errors
    want = connect()
    assert collect(want, files_collector(root, "conga")).status == "ok"
    for st in res.streams:
        assert st.rows > 0, st.stream
        assert raw_rows(con, st.table) == raw_rows(want, st.table), st.table


def test_conga_objects_over_the_orgs_query_equal_the_files(conga_exports):
    res, con, sb = run(conga_exports)
    assert_as_files(conga_exports, res, con)
    assert sb.state.counts[("salesforce", 200)] > 6  # one record a page, on the org's own host


def test_conga_through_bulk_jobs_equals_the_files(conga_exports):
    res, con, _ = run(conga_exports, bulk_streams=["agreement", "line_item"], bulk_poll_seconds=0.001)
    assert_as_files(conga_exports, res, con)


@pytest.mark.parametrize(
    "spec",
    [
        "rate_limit@salesforce:every=3,seconds=0.001",
        "server_error@salesforce:first=2",
        "token_expiry@salesforce:every=4",
        "truncated@salesforce:every=5",
    ],
)
def test_org_faults_recovered(conga_exports, spec):
    res, con, _ = run(conga_exports, spec)
    assert_as_files(conga_exports, res, con)


def test_dropped_field_is_null_and_hidden_object_absent(conga_exports):
    res, con, _ = run(
        conga_exports,
        f"drift@salesforce:field=Apttus__Subtype__c,stream={AGREEMENT}",
        f"permission_denied@salesforce:stream={LINE}",
    )
    assert res.status == "ok", res.errors
    assert con.execute('SELECT count("Apttus__Subtype__c") FROM raw.conga__agreement').fetchone() == (0,)
    statuses = {s.stream: s.status for s in res.streams}
    assert statuses["line_item"] == "absent", statuses


def test_conga_fault_spec_names_the_org():
    with pytest.raises(ValueError, match="not 'conga'"):
        parse_fault("rate_limit@conga")


def test_canon_from_conga_matches_the_firm(conga_exports):
    """The mapping fills contract, SOW, amendment, rate card and milestone as the firm holds them."""
    con = connect()
    assert collect(con, files_collector(conga_exports, "conga")).status == "ok"
    build_canon_conga(con)
    firm = firm_fixture.build()
    from closedloop.demo.render._fmt import table

    for name, key in (
        ("contract", "contract_id"),
        ("sow", "sow_id"),
        ("amendment", "amendment_id"),
        ("milestone", "milestone_id"),
    ):
        want = table(firm, name).drop("source_system", "source_id").sort(key)
        got = con.sql(f"SELECT * EXCLUDE (source_system, source_id, snapshot_ts) FROM canon.{name}").pl()
        got = got.sort(key).select(want.columns)
        if name != "milestone":  # Conga's status words, mapped to canonical ones by the value map
            words = valuemaps.source_map("conga", None)[f"{name}.status"]
            mapped = [words.get(valuemaps.normalize(v)) for v in got["status"]]
            assert mapped == want["status"].to_list(), name
            assert "Activated" in got["status"].to_list()
            got, want = got.drop("status"), want.drop("status")
        if "legal_entity_id" in want.columns:  # the entity's name, resolved to its id beside the ERP
            got, want = got.drop("legal_entity_id"), want.drop("legal_entity_id")
        assert got.to_dicts() == want.cast(got.schema).to_dicts(), name
    rc = con.sql("SELECT rate_card_id, scope, sow_id, contract_id, role, bill_rate FROM canon.rate_card").pl()
    want = table(firm, "rate_card").select(rc.columns)
    assert sorted(rc.rows()) == sorted(want.rows())


def build_canon_conga(con) -> None:
    """The canonical schema and the conga mapping alone (legal entity names stay names without the ERP)."""
    from closedloop.pipeline import CANON_DIR, mapping_sql, run_sql_file

    run_sql_file(con, CANON_DIR / "schema.sql")
    run_sql_file(con, *mapping_sql("conga", {"kind": "conga"}))


def test_unknown_category_key_is_refused():
    from collectors.conga import check_settings

    with pytest.raises(ValueError, match=r"unknown key 'sources.conga.categories.nda'"):
        check_settings({"categories": {"nda": "NDA"}}, "sources.conga")


_ = build_canon  # the full mapping path is the answer-key test's (tests/demo/test_profiles.py -k conga)


def test_conga_estate_over_http_equals_its_files(tmp_path_factory):
    """The conga estate at tier s (its own config: Bulk API past 1,000 rows) collected over HTTP, Salesforce and
    Conga alike, gives the raw tables its file exports give; the line items really came through a job."""
    from closedloop.demo import generate_firm, write_demo
    from closedloop.demo.profiles import profile
    from tests.sandbox.test_salesforce_bulk import bulk_jobs

    prof = profile("conga")
    root = write_demo(generate_firm("s", seed=1), tmp_path_factory.mktemp("conga-estate"), prof) / "exports"
    sections = prof.config_sections()
    assert find_exports(root.parent) == root  # `closedloop sandbox --profile conga` finds it (no ironclad/)
    with Sandbox(root) as sb:
        for kind in ("salesforce", "conga"):
            via_api, via_files = connect(), connect()
            got = collect(via_api, api_collector(sb, kind, **sections.get(kind, {})))
            want = collect(via_files, files_collector(root, kind))
            assert got.status == "ok", got.errors
            assert [(s.stream, s.rows) for s in got.streams] == [(s.stream, s.rows) for s in want.streams]
            for st in got.streams:
                assert raw_rows(via_api, st.table) == raw_rows(via_files, st.table), st.table
        jobs = bulk_jobs(sb)
        assert {j.query.sobject for j in jobs.values()} == {LINE}, jobs
        # the bench's bare loop reads the same pages the same way (line items through a job): the same records
        with httpx.Client() as client:
            assert conga_sandbox.bare_loop(client, sb.base_url, sb.state.credentials) == got.rows
        assert len(bulk_jobs(sb)) == 2


def test_discover_reads_the_apttus_objects_through_the_org(conga_exports):
    from closedloop import discover

    with Sandbox(conga_exports) as sb:
        env = sb.secrets()
        cfg = {"kind": "conga", **sb.source_config()["conga"]}
        report = discover.run("conga", cfg, lambda n: env.get(f"CLOSEDLOOP_CONGA_{n.upper()}"))
    assert report.profiles["agreement"].present and report.profiles["line_item"].present
    assert "Apttus__Status__c" in report.profiles["agreement"].columns
    maps = {m.canonical: m for m in report.value_maps}
    assert maps["sow.status"].pairs.get("Activated") == "executed", maps.get("sow.status")


def test_bare_loops_read_what_the_collector_reads(conga_exports):
    """The bench's baselines (closedloop/sandbox/conga.py bare_loop, sf_bulk.bare_loop) count the same records."""
    from closedloop.sandbox import sf_bulk

    res, _, _ = run(conga_exports)
    with Sandbox(conga_exports) as sb, httpx.Client() as client:
        creds = sb.state.credentials
        assert conga_sandbox.bare_loop(client, sb.base_url, creds) == res.rows
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.salesforce_client_id,
            "client_secret": creds.salesforce_client_secret,
        }
        token = client.post(f"{sb.base_url}/services/oauth2/token", data=form).json()["access_token"]
        assert (
            sf_bulk.bare_loop(client, sb.base_url, token, f"SELECT Id FROM {LINE}") == 2 + 1
        )  # 2 rates, 1 milestone


def test_the_firms_own_words_are_rendered_and_read_back(tmp_path):
    """A firm's `values` ([sources.conga.values]) shape the exports: its status and billing-type words."""
    import json

    values = {
        "sow.status": {"Signed Off": "executed"},
        "sow.billing_type": {"T&M with Cap": "TM_CAP", "Milestone Billing": "MILESTONE"},
    }
    render_exports(firm_fixture.build(), tmp_path, {"conga": {"values": values}}, systems=SYSTEMS)
    rows = [json.loads(x) for x in (tmp_path / "conga" / f"{AGREEMENT}.jsonl").read_text().splitlines()]
    sows = [r for r in rows if r["Apttus__Agreement_Category__c"] == "SOW"]
    assert {r["Apttus__Status__c"] for r in sows} == {"Signed Off"}
    assert {r["Billing_Type__c"] for r in sows} == {"T&M with Cap", "Milestone Billing"}
    msa = [r for r in rows if r["Apttus__Agreement_Category__c"] == "MSA"]
    assert {r["Apttus__Status__c"] for r in msa} == {"Activated"}  # no map of its own: Conga's word
    words = valuemaps.source_map("conga", values)["sow.status"]
    assert words[valuemaps.normalize("Signed Off")] == "executed"
