"""`closedloop discover` for DocuSign CLM and Icertis against the sandbox: a default estate is found whole and its
draft parses; an estate under its own names gets exactly those names proposed, with evidence."""

from __future__ import annotations

import tomllib

import pytest

from closedloop import discover as disc
from closedloop import settings as cfgmod
from closedloop.demo.exports import render_exports
from closedloop.sandbox import Credentials, Sandbox
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_cfg

RENAMED = {
    "docusign_clm": {"custom_provisions": {"billing_type": "pricing_model", "sow_id": "sow_reference"}},
    "icertis": {"fields": {"billing_type": "PricingModel", "status": "AgreementStatus"}},
}
KEYS = Credentials.with_keypair()  # DocuSign's JWT grant is signed and verified for real
EXPECTED = {
    "docusign_clm": {
        ("custom_provisions", "billing_type"): "pricing_model",
        ("custom_provisions", "sow_id"): "sow_reference",
    },
    "icertis": {("fields", "billing_type"): "PricingModel", ("fields", "status"): "AgreementStatus"},
}


def _estate(tmp_path_factory, vendor: str, config=None):
    root = tmp_path_factory.mktemp(f"{vendor}-discover")
    render_exports(firm_fixture.build(), root, config or {}, systems=("salesforce", vendor, "netsuite"))
    return root


def _discover(sb: Sandbox, vendor: str):
    env = sb.secrets()
    raw = {k: v for k, v in api_cfg(sb, vendor).items() if k != "kind"}
    cfg = cfgmod.parse({"sources": {vendor: raw}}, None).sources[vendor]
    secrets = lambda n: env.get(f"CLOSEDLOOP_{vendor.upper()}_{n.upper()}")  # noqa: E731
    return disc.run(vendor, cfg, secrets), cfg


@pytest.mark.parametrize("vendor", ["docusign_clm", "icertis"])
def test_default_estate_is_found_and_the_draft_parses(tmp_path_factory, vendor):
    with Sandbox(_estate(tmp_path_factory, vendor), credentials=KEYS) as sb:
        report, cfg = _discover(sb, vendor)
    assert report.settings == {}
    statuses = [f.status for fs in report.findings.values() for f in fs]
    assert statuses.count("found") > 10 and "proposed" not in statuses, report.findings
    doc = tomllib.loads(disc.draft(report, cfg))
    doc["sources"][vendor].pop("values", None)
    assert cfgmod.parse(doc, None).sources[vendor]["transport"] == "api"


@pytest.mark.parametrize("vendor", ["docusign_clm", "icertis"])
def test_renamed_estate_proposes_exactly_the_renames(tmp_path_factory, vendor):
    with Sandbox(_estate(tmp_path_factory, vendor, {vendor: RENAMED[vendor]}), credentials=KEYS) as sb:
        report, _ = _discover(sb, vendor)
    assert {k: v for k, (v, _) in report.settings.items()} == EXPECTED[vendor]
    assert all(evidence for _, evidence in report.settings.values())


def test_docusign_files_are_profiled_per_agreement_type(tmp_path_factory):
    root = _estate(tmp_path_factory, "docusign_clm", {"docusign_clm": RENAMED["docusign_clm"]})
    raw = {"transport": "files", "path": str(root / "docusign_clm")}
    cfg = cfgmod.parse({"sources": {"docusign_clm": raw}}, None).sources["docusign_clm"]
    report = disc.run("docusign_clm", cfg, lambda _: None)
    assert {k: v for k, (v, _) in report.settings.items()} == EXPECTED["docusign_clm"]
    assert {"msa", "sow", "amendment", "rate_card"} <= {s for s, p in report.profiles.items() if p.present}
