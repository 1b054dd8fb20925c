"""`closedloop discover` over real HTTP against the sandbox: the report, the draft, and the draft applied."""

from __future__ import annotations

import tomllib

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from closedloop import discover as disc
from closedloop import settings as cfgmod
from closedloop.cli import app
from closedloop.demo.exports import render_exports
from closedloop.sandbox import Sandbox, parse_fault
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_cfg, collect

# A firm whose admins named things their own way (the renderers take the same settings the collectors do).
RENAMED = {
    "salesforce": {"correlation_field": "Engagement_Key__c", "inv_number_field": "Invoice_No__c"},
    "netsuite": {
        "custom_fields": {
            "custentity_region": "custentity_sales_region",
            "custbody_sow_id": "custbody_cl_sow_id",
        }
    },
    "ironclad": {"properties": {"billing_type": "billingModel"}},
}
EXPECTED = {
    "salesforce": {
        ("correlation_field",): "Engagement_Key__c",
        ("inv_number_field",): "Invoice_No__c",
    },
    "netsuite": {
        ("custom_fields", "custentity_region"): "custentity_sales_region",
        ("custom_fields", "custbody_sow_id"): "custbody_cl_sow_id",
    },
    "ironclad": {("properties", "billing_type"): "billingModel"},
}
# a renamed column -> the raw table it must land in, non-null, once the draft is applied
LANDS = {
    "salesforce": [("opportunity", "Engagement_Key__c"), ("invoice_status", "Invoice_No__c")],
    "netsuite": [("customer", "custentity_sales_region"), ("transaction", "custbody_cl_sow_id")],
    "ironclad": [],
}


def _secrets(sb: Sandbox, vendor: str):
    env = sb.secrets()
    return lambda name: env.get(f"CLOSEDLOOP_{vendor.upper()}_{name.upper()}")


def _discover(sb: Sandbox, vendor: str, **overrides):
    raw = {k: v for k, v in api_cfg(sb, vendor, **overrides).items() if k != "kind"}
    cfg = cfgmod.parse({"sources": {vendor: raw}}, None).sources[vendor]
    return disc.run(vendor, cfg, _secrets(sb, vendor)), cfg


def _parse_draft(text: str, vendor: str, kind: str | None = None) -> dict:
    """The draft as TOML, then as closedloop config; [values] is checked by settings once value maps land."""
    doc = tomllib.loads(text)
    section = doc["sources"][vendor]
    if "values" not in {s.name for s in cfgmod.source_settings(kind or vendor)}:
        section.pop("values", None)
    return cfgmod.parse(doc, None).sources[vendor]


def _status(report, stream: str) -> dict[str, str]:
    return {f.wanted.column: f.status for f in report.findings[stream]}


@pytest.fixture(scope="module")
def renamed(tmp_path_factory):
    root = tmp_path_factory.mktemp("renamed-exports")
    render_exports(firm_fixture.build(), root, RENAMED)
    with Sandbox(root) as sb:
        yield sb


def test_salesforce_describe_has_the_vendor_shape(sandbox):
    secrets = _secrets(sandbox, "salesforce")
    token = httpx.post(
        f"{sandbox.base_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.state.credentials.salesforce_client_id,
            "client_secret": secrets("client_secret"),
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{sandbox.base_url}/services/data/v66.0"
    assert httpx.get(f"{base}/sobjects").status_code == 401  # authorized like /query
    listing = httpx.get(f"{base}/sobjects", headers=headers).json()
    assert {"Account", "Opportunity", "Invoice_Status__c"} <= {o["name"] for o in listing["sobjects"]}
    assert {"name", "label", "custom", "queryable"} <= set(listing["sobjects"][0])
    doc = httpx.get(f"{base}/sobjects/Opportunity/describe", headers=headers).json()
    fields = {f["name"]: f for f in doc["fields"]}
    for f in fields.values():
        assert {
            "name",
            "label",
            "type",
            "custom",
            "nillable",
            "length",
            "picklistValues",
            "referenceTo",
        } <= set(f)
    assert fields["Id"]["type"] == "id" and fields["Id"]["nillable"] is False
    assert fields["AccountId"]["type"] == "reference" and fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["IsWon"]["type"] == "boolean" and fields["CloseDate"]["type"] == "date"
    assert fields["Amount"]["type"] == "currency" and fields["SystemModstamp"]["type"] == "datetime"
    assert fields["Correlation_Id__c"]["custom"] is True
    assert fields["StageName"]["type"] == "picklist"
    assert {"value", "label", "active"} <= set(fields["StageName"]["picklistValues"][0])
    assert "Account" not in fields  # the relationship object is not a field
    missing = httpx.get(f"{base}/sobjects/Nope__c/describe", headers=headers)
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize("vendor", ["salesforce", "netsuite", "ironclad"])
def test_default_estate_is_found_and_the_draft_parses(sandbox, vendor):
    report, cfg = _discover(sandbox, vendor)
    assert report.settings == {}  # nothing renamed, nothing proposed
    statuses = [f.status for fs in report.findings.values() for f in fs]
    assert statuses.count("found") > 10 and "proposed" not in statuses
    if vendor == "salesforce":
        assert _status(report, "opportunity")["Correlation_Id__c"] == "found"
    if vendor == "netsuite":
        assert _status(report, "job")["jobbillingtype"] == "found"
    if vendor == "ironclad":
        assert _status(report, "sow")["agreementStatus"] == "found"
    drafted = _parse_draft(disc.draft(report, cfg), vendor)
    assert drafted["transport"] == "api"


def test_netsuite_custom_record_under_another_name_is_proposed_from_the_account_list(sandbox):
    report, _ = _discover(sandbox, "netsuite", custom_records={"dispute": "customrecord_not_there"})
    table, evidence = report.settings[("custom_records", "dispute")]
    assert table == "customrecord_cl_dispute" and "customrecordtype" in evidence
    assert report.profiles["dispute"].present and report.profiles["dispute"].table == table


def test_netsuite_table_the_role_cannot_read_is_absent(exports):
    fault = parse_fault("permission_denied@netsuite:stream=customrecord_cl_dispute")
    with Sandbox(exports, faults=[fault]) as sb:
        report, _ = _discover(sb, "netsuite")
    prof = report.profiles["dispute"]
    assert not prof.present and "customrecord_cl_dispute" in prof.note
    assert {f.status for f in report.findings["dispute"]} == {"absent"}
    assert ("custom_records", "dispute") not in report.settings


@pytest.mark.parametrize("vendor", ["salesforce", "netsuite", "ironclad"])
def test_renamed_estate_proposes_exactly_the_renames_and_the_draft_collects_them(renamed, vendor):
    report, cfg = _discover(renamed, vendor)
    assert {k: v for k, (v, _) in report.settings.items()} == EXPECTED[vendor]
    assert all(evidence for _, evidence in report.settings.values())
    drafted = _parse_draft(disc.draft(report, cfg), vendor)
    module = __import__(f"collectors.{vendor}", fromlist=["api_collector"])
    collector = module.api_collector(drafted, _secrets(renamed, vendor))
    con = duckdb.connect()
    streams = {s for s, _ in LANDS[vendor]} or {"sow"}
    result = collect(con, collector, streams)
    assert result.status == "ok", result.errors
    for stream, column in LANDS[vendor]:
        assert con.execute(f'SELECT count("{column}") FROM raw.{vendor}__{stream}').fetchone()[0] > 0
    if vendor == "ironclad":
        values = con.execute(
            "SELECT count(json_extract_string(properties, '$.billingModel.value')) FROM raw.ironclad__sow"
        ).fetchone()[0]
        assert values > 0


def test_files_source_reports_headers_and_values(tmp_path):
    (tmp_path / "ar").mkdir()
    (tmp_path / "ar" / "invoices.csv").write_text("invoice_no,status,amount\nINV1,Paid,10.5\nINV2,Open,3\n")
    doc = {
        "sources": {
            "ar": {
                "kind": "files",
                "path": str(tmp_path),
                "streams": {"invoices": "ar/*.csv", "gone": "x/*.csv"},
            }
        }
    }
    cfg = cfgmod.parse(doc, None).sources["ar"]
    report = disc.run("ar", cfg, lambda _n: None)
    rows = {(s, w): (status, ev) for s, w, status, _n, ev in disc.lines(report)}
    assert rows[("invoices", "status")][0] == "found" and "'Paid'" in rows[("invoices", "status")][1]
    assert rows[("invoices", "amount")][1].startswith("number")
    assert rows[("gone", "(x/*.csv)")][0] == "absent"
    assert _parse_draft(disc.draft(report, cfg), "ar", "files")["streams"]["invoices"] == "ar/*.csv"


def test_vendor_files_transport_is_matched_like_the_api(renamed):
    root = renamed.state.exports.root
    cfg = cfgmod.parse({"sources": {"salesforce": {"path": str(root / "salesforce")}}}, None).sources[
        "salesforce"
    ]
    report = disc.run("salesforce", cfg, lambda _n: None)
    assert {k: v for k, (v, _) in report.settings.items()} == EXPECTED["salesforce"]


def test_cli_prints_the_draft_and_never_overwrites_a_file(sandbox, tmp_path, monkeypatch):
    for name, value in sandbox.secrets().items():
        monkeypatch.setenv(name, value)
    raw = {k: v for k, v in api_cfg(sandbox, "ironclad").items() if k != "kind"}
    config = tmp_path / "closedloop.toml"
    config.write_text("[sources.ironclad]\n" + "".join(f'{k} = "{v}"\n' for k, v in raw.items()))
    runner = CliRunner()
    shown = runner.invoke(app, ["discover", "ironclad", "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    assert "[sources.ironclad]" in shown.stdout and "found" in shown.output
    assert (
        "client_secret" not in shown.output
        and sandbox.state.credentials.ironclad_client_secret not in shown.output
    )
    target = tmp_path / "draft.toml"
    written = runner.invoke(app, ["discover", "ironclad", "--config", str(config), "--write", str(target)])
    assert written.exit_code == 0 and tomllib.loads(target.read_text())["sources"]["ironclad"]
    before = target.read_text()
    again = runner.invoke(app, ["discover", "ironclad", "--config", str(config), "--write", str(target)])
    assert again.exit_code == 2 and str(target) in again.output.replace("\n", "")
    assert target.read_text() == before
    unknown = runner.invoke(app, ["discover", "nope", "--config", str(config)])
    assert unknown.exit_code == 2
