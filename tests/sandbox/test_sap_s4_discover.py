"""`closedloop discover sap_s4` over the sandbox: a default tenant is found as is, renamed extension fields are
proposed from the data and the draft collects them; an entity set the tenant lacks is reported absent."""

from __future__ import annotations

import tomllib

import duckdb
import pytest

from closedloop import discover as disc
from closedloop import settings as cfgmod
from closedloop.demo.render import sap_s4 as render
from closedloop.sandbox import Sandbox
from collectors.sap_s4 import api_collector
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_cfg, collect

RENAMED = {"fields": {"YY1_Region": "YY1_SalesRegion", "YY1_SOWID": "YY1_StatementOfWork"}}


def _estate(root, cfg):
    render.render(firm_fixture.build(), root / "sap_s4", cfg, {})
    return Sandbox(root)


def _discover(sb: Sandbox, **overrides):
    raw = {k: v for k, v in api_cfg(sb, "sap_s4", **overrides).items() if k != "kind"}
    cfg = cfgmod.parse({"sources": {"sap_s4": raw}}, None).sources["sap_s4"]
    env = sb.secrets()
    return disc.run("sap_s4", cfg, lambda n: env.get(f"CLOSEDLOOP_SAP_S4_{n.upper()}")), cfg


@pytest.fixture(scope="module")
def renamed(tmp_path_factory):
    with _estate(tmp_path_factory.mktemp("sap-renamed"), RENAMED) as sb:
        yield sb


def test_a_default_tenant_is_found_as_it_is(tmp_path):
    with _estate(tmp_path, {}) as sb:
        report, _ = _discover(sb)
    assert report.settings == {}
    statuses = [f.status for fs in report.findings.values() for f in fs]
    assert statuses.count("found") > 100 and "proposed" not in statuses
    assert {f.wanted.column: f.status for f in report.findings["billing_document"]}[
        "TotalGrossAmount"
    ] == "found"


def test_renamed_extension_fields_are_proposed_and_the_draft_collects_them(renamed):
    report, cfg = _discover(renamed)
    assert {k: v for k, (v, _) in report.settings.items()} == {
        ("fields", "YY1_Region"): "YY1_SalesRegion",
        ("fields", "YY1_SOWID"): "YY1_StatementOfWork",
    }
    doc = tomllib.loads(disc.draft(report, cfg))
    doc["sources"]["sap_s4"].pop("values", None)
    drafted = cfgmod.parse(doc, None).sources["sap_s4"]
    env = renamed.secrets()
    con = duckdb.connect()
    res = collect(
        con,
        api_collector(drafted, lambda n: env.get(f"CLOSEDLOOP_SAP_S4_{n.upper()}")),
        {"customer", "project"},
    )
    assert res.status == "ok", res.errors
    assert con.execute('SELECT count("YY1_SalesRegion") FROM raw.sap_s4__customer').fetchone()[0] == 3
    assert con.execute('SELECT count("YY1_StatementOfWork") FROM raw.sap_s4__project').fetchone()[0] >= 2


def test_an_entity_set_the_tenant_lacks_is_absent(renamed):
    report, _ = _discover(renamed, entity_sets={"dispute": "YY1_NOSUCH_CDS/YY1_NoSuch"})
    prof = report.profiles["dispute"]
    assert not prof.present and "YY1_NOSUCH_CDS/YY1_NoSuch" in prof.note
    assert {f.status for f in report.findings["dispute"]} == {"absent"}
