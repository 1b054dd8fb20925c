"""Truth firm -> vendor exports -> files collector -> raw -> canon: every canonical table comes back whole."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from closedloop.demo.exports import render_exports
from closedloop.demo.firm.schema import canon_schema
from tests.collectors import firm_fixture
from tests.collectors.roundtrip import canon_frame, round_trip, snapshot_ts_set, stable

DERIVED = {"snapshot_meta"}  # written by the pipeline, not by a source


@pytest.fixture(scope="module")
def truth() -> firm_fixture.TruthFirm:
    return firm_fixture.build()


@pytest.fixture(scope="module")
def canon(truth, tmp_path_factory):
    return round_trip(truth, tmp_path_factory.mktemp("rt"))


@pytest.mark.parametrize("table", sorted(set(canon_schema()) - DERIVED))
def test_table_round_trips(canon, truth, table):
    expected = truth.tables[table]
    if "correlation_id" in expected.columns and table != "integration_event":
        expected = expected.with_columns(
            correlation_id=pl.Series(truth.expected_corr[table], dtype=pl.String)
        )
    assert_frame_equal(canon_frame(canon, table), stable(expected), check_exact=True)


def test_snapshot_ts_from_extraction(canon):
    assert snapshot_ts_set(canon)


def test_money_is_exact_decimal(canon):
    (amount,) = canon.execute("SELECT amount FROM canon.opportunity WHERE amount > 1e7").fetchone()
    assert str(amount) == "99999999.99"


def test_unresolved_stays_null(canon):
    rows = canon.execute("SELECT project_id FROM canon.project WHERE correlation_id IS NULL").fetchall()
    assert rows == [(firm_fixture.PRJ_3,)]


def test_exports_are_deterministic(truth, tmp_path):
    render_exports(truth, tmp_path / "a")
    render_exports(truth, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_vendor_shapes(truth, tmp_path):
    render_exports(truth, tmp_path)
    opp = json.loads((tmp_path / "salesforce" / "Opportunity.jsonl").read_text().splitlines()[0])
    assert opp["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v66.0/sobjects/Opportunity/{opp['Id']}",
    }
    assert opp["Amount"] == 120000.5 and opp["CreatedDate"] == "2025-01-05T09:30:01.000+0000"
    assert opp["Account"]["attributes"]["type"] == "Account" and opp["Correlation_Id__c"] == "CL-0000000001"
    items = [json.loads(x) for x in (tmp_path / "netsuite" / "job.jsonl").read_text().splitlines()]
    assert all(isinstance(v, str) for it in items for k, v in it.items() if k != "links")
    assert items[0]["links"] == [] and items[0]["startdate"] == "2/1/2025"
    assert "custentity_closed_date" not in items[0]  # null columns are left out of SuiteQL items
    sow = json.loads(
        (tmp_path / "ironclad" / "records" / "statementOfWork.jsonl").read_text().splitlines()[0]
    )
    assert sow["properties"]["contractValue"] == {
        "type": "monetaryAmount",
        "value": {"amount": 120000.5, "currency": "USD"},
    }
    assert sow["properties"]["salesforceOpportunityId"]["value"] == firm_fixture.OPP_1
    header = (tmp_path / "netsuite" / "timebill.csv").read_text().splitlines()[0]
    assert header.startswith("id,employee,customer,casetaskevent")


def test_other_correlation_field_names(truth, tmp_path):
    config = {
        "salesforce": {"correlation_field": "Engagement_Key__c", "invoice_status_object": "Billing_Doc__c"},
        "ironclad": {"correlation_property": "engagementKey", "properties": {"value": "totalFees"}},
        "netsuite": {
            "correlation_body_field": "custbody_engagement_key",
            "custom_fields": {"custentity_sow_id": "custentity_ic_sow"},
        },
    }
    con = round_trip(truth, tmp_path, config)
    opp = json.loads((tmp_path / "exports" / "salesforce" / "Opportunity.jsonl").read_text().splitlines()[0])
    assert "Engagement_Key__c" in opp and "Correlation_Id__c" not in opp
    assert (tmp_path / "exports" / "salesforce" / "Billing_Doc__c.jsonl").exists()
    for table in ("opportunity", "sow", "invoice", "project", "crm_invoice_status"):
        expected = truth.tables[table].with_columns(
            correlation_id=pl.Series(truth.expected_corr[table], dtype=pl.String)
        )
        assert_frame_equal(canon_frame(con, table), stable(expected), check_exact=True)
