"""closedloop.trace: any ID resolves to its flow; the timeline spans every system; parameters only."""

from __future__ import annotations

import duckdb
import pytest

from closedloop import trace
from closedloop.warehouse import Warehouse
from tests.app import warehouse


@pytest.fixture
def con(tmp_path):
    warehouse.build(tmp_path / "data")
    c = Warehouse.at(tmp_path / "data").connect_published()
    yield c
    c.close()


@pytest.mark.parametrize(
    "any_id",
    [
        "CID-0001",
        "OPP-1",
        "CON-1",
        "SOW-1",
        "AMD-1",
        "MS-1",
        "PRJ-1",
        "INV-1",
        "INV-2026-0001",
        "PAY-1",
        "EVT-1",
        "EVT-2",
        "a0X-CRM-1",
        "  INV-2026-0001\n",
    ],
)
def test_any_id_resolves_to_its_correlation_id(con, any_id):
    assert trace.resolve(con, any_id) == ["CID-0001"]
    flows, matches = trace.lookup(con, any_id)  # the app's and the CLI's one call: both answers at once
    assert (flows, matches) == (["CID-0001"], trace.match(con, any_id))


def test_unknown_unresolved_and_empty_ids(con):
    assert trace.resolve(con, "NOPE") == []
    assert trace.resolve(con, "") == []
    assert trace.resolve(con, "INV-9") == []
    assert [(m.entity_type, m.entity_id, m.correlation_id) for m in trace.match(con, "INV-2026-0009")] == [
        ("invoice", "INV-9", None)
    ]
    assert trace.lookup(con, "INV-2026-0009") == ([], trace.match(con, "INV-2026-0009"))
    assert trace.lookup(con, "  ") == ([], [])


@pytest.mark.parametrize(
    "junk", ["' OR 1=1 --", "x'); DROP TABLE canon.sow; --", "%", "_", "\x00\x1b[2J", "é" * 999]
)
def test_hostile_ids_are_values_not_sql(con, junk):
    assert trace.resolve(con, junk) == []
    assert trace.timeline(con, junk) == []
    assert con.execute("SELECT count(*) FROM canon.sow").fetchone()[0] == 2


def test_clean_id_bounds_and_strips():
    assert trace.clean_id("  a\tb\x00c  ") == "abc"
    assert len(trace.clean_id("x" * 10_000)) == trace.MAX_ID_LEN


def test_timeline_spans_all_lanes_in_time_order(con):
    records = trace.timeline(con, "CID-0001")
    assert {r.lane for r in records} == set(trace.LANES)
    types = {r.entity_type for r in records}
    assert {
        "opportunity",
        "crm_invoice_status",
        "contract",
        "sow",
        "amendment",
        "milestone",
        "project",
        "billing_schedule",
        "invoice",
        "payment",
        "revenue_schedule",
        "integration_event",
    } <= types
    times = [r.ts for r in records if r.ts]
    assert times == sorted(times)
    failed = next(r for r in records if r.entity_id == "EVT-2")
    assert (
        failed.lane == "Middleware" and failed.fields["status"] == "failed" and failed.fields["attempt"] == 3
    )
    assert (
        trace.record_fields(next(r for r in records if r.entity_id == "SOW-1"))["signed_date"] == "2026-06-26"
    )


def test_findings_on_the_flow_include_ones_a_run_closed(con):
    found = trace.findings(con, "CID-0001")
    assert [(f["check_id"], f["status"]) for f in found] == [
        ("Q2C-033", "open"),
        ("Q2C-021", "open"),
        ("Q2C-001", "closed"),
    ]
    assert found[2]["title"]


def test_a_warehouse_without_results_or_tables_is_fine(tmp_path):
    c = duckdb.connect()
    assert trace.resolve(c, "CID-0001") == []
    assert trace.timeline(c, "CID-0001") == []
    assert trace.findings(c, "CID-0001") == []
