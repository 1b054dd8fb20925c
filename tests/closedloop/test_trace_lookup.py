"""closedloop.trace_lookup: the forgiving lookup's rules, the Salesforce checksum, hostile text as plain values;
closedloop.trace_start: where a trace starts without an ID."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from closedloop import trace_lookup as tl
from closedloop import trace_start
from closedloop.demo.firm import ids
from closedloop.warehouse import Warehouse
from tests.app import warehouse

OPP = "0065g000BZNkCuYAYV"  # a Salesforce 18: its last 3 characters encode the case of the first 15
EVT = "4e5d42b2-7622-4309-5d5b-b6e688605ea0"


@pytest.fixture
def con(tmp_path):
    """A warehouse with the demo firm's formats: CL- correlation IDs, INV/CM numbers, Salesforce 18s, UUIDs."""
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    c.execute("CREATE SCHEMA canon")
    c.execute("CREATE TABLE canon.opportunity (opportunity_id VARCHAR, correlation_id VARCHAR)")
    c.execute(
        "CREATE TABLE canon.invoice (invoice_id VARCHAR, erp_invoice_no VARCHAR, correlation_id VARCHAR)"
    )
    c.execute(
        "CREATE TABLE canon.integration_event (event_id VARCHAR, idempotency_key VARCHAR, correlation_id VARCHAR,"
        " status VARCHAR, attempt INTEGER, created_at TIMESTAMPTZ, event_type VARCHAR, source_system VARCHAR,"
        " target_system VARCHAR, error_message VARCHAR)"
    )
    opps = [OPP, *(o for o in ids.sf_ids("opportunity", 31).to_list() if o != OPP)][:31]
    c.executemany(
        "INSERT INTO canon.opportunity VALUES (?, ?)", [[o, f"CL-{i:010d}"] for i, o in enumerate(opps)]
    )
    rows = [[f"{10_000_000 + n}", f"INV{n:07d}", f"CL-{n % 30:010d}"] for n in range(1, 41)]
    rows += [["17000010", "CM0000010", "CL-0000000029"], ["17000011", "CM0000011", "CL-0000000028"]]
    c.executemany("INSERT INTO canon.invoice VALUES (?, ?, ?)", rows)
    t0 = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    e = ids.event_ids(6).to_list()
    events = [
        [EVT, "invoice.posted:10000001", "CL-0000000001", "success", 1, t0],
        # recovered: failed, then delivered on a retry
        [e[1], "invoice.posted:10000002", "CL-0000000002", "failed", 1, t0],
        [e[2], "invoice.posted:10000002", "CL-0000000002", "success", 2, t0 + dt.timedelta(hours=1)],
        # still failing, and dead-lettered
        [e[3], "invoice.posted:10000003", "CL-0000000003", "failed", 1, t0 + dt.timedelta(days=2)],
        [e[4], "invoice.posted:10000004", "CL-0000000004", "dead_letter", 6, t0 + dt.timedelta(days=1)],
        [e[5], "inv0000020", "CL-0000000007", "success", 1, t0],  # a key that looks like an invoice number
    ]
    c.executemany(
        "INSERT INTO canon.integration_event VALUES (?, ?, ?, ?, ?, ?, 'invoice.posted', 'netsuite',"
        " 'salesforce', 'boom')",
        events,
    )
    yield c
    c.close()


# ---- Salesforce IDs ----------------------------------------------------------------------------------


def test_the_checksum_is_salesforces():
    # worked by hand: a0A5g → 'A' at position 2 → 0b00100 = 4 → E; 000I2 → 8 → I; OFMnW → 1+2+4+16 = 23 → X
    assert tl.sf_checksum("a0A5g000I2OFMnW") == "EIX"
    # and it agrees with the demo generator's own (vectorised, separately written) ids
    for sf18 in ids.sf_ids("opportunity", 200).to_list() + ids.sf_ids("account", 200).to_list():
        assert tl.sf_checksum(sf18[:15]) == sf18[15:]
    assert tl.sf_checksum("000000000000000") == "AAA"
    assert tl.sf_checksum("ZZZZZZZZZZZZZZZ") == "555"
    with pytest.raises(ValueError, match="15-character"):
        tl.sf_checksum("0065g000-ZNkCuY")


def test_15_and_18_characters_are_one_record():
    assert tl.sf_forms(OPP[:15]) == (OPP[:15], OPP)
    assert tl.sf_forms(OPP) == (OPP[:15], OPP)
    assert tl.sf_forms(OPP.lower()) == (OPP[:15], OPP)  # the 18's case comes back from its checksum
    assert tl.sf_forms(OPP.upper()) == (OPP[:15], OPP)
    assert tl.sf_forms(OPP[:17] + "9") is None  # 9 is no checksum character
    assert tl.sf_forms("000000000000000B00") is None  # the checksum says a digit is a capital letter
    assert tl.sf_forms("0065g000BZNkCu") is None and tl.sf_forms("0065g000BZNkCu!") is None


# ---- the rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "level"),
    [("INV0000010", tl.EXACT), ("inv0000010", tl.CASE), ("INV-0000010", tl.LOOSE), (" INV0000010 ", tl.EXACT),
     ("Inv 0000010", tl.LOOSE), ("inv-10", tl.LOOSE), ("INV 10", tl.LOOSE)],
)  # fmt: skip
def test_an_invoice_number_in_any_case_with_dashes_or_spaces(con, typed, level):
    found = tl.find(con, typed, tl.columns(con))
    assert [(h.entity_type, h.value, h.level) for h in found.hits] == [("invoice", "INV0000010", level)]
    assert found.flows == ["CL-0000000010"]


def test_an_exact_match_is_not_crowded_by_looser_ones(con):
    cols = tl.columns(con)
    assert [(h.entity_type, h.value) for h in tl.find(con, "inv0000020", cols).hits] == [
        (
            "integration_event",
            "inv0000020",
        )  # stored so, exactly: the invoice INV0000020 matches in another case
    ]
    assert [h.value for h in tl.find(con, "INV0000020", cols).hits] == ["INV0000020"]


def test_a_bare_number_offers_every_document_it_can_be(con):
    found = tl.find(con, "10", tl.columns(con))
    # this fixture's correlation IDs are numbered too (CL- and 10 digits): that flow is one of the answers
    assert sorted(h.value for h in found.hits) == ["CL-0000000010", "CM0000010", "INV0000010"]
    assert sorted(found.flows) == ["CL-0000000010", "CL-0000000029"]  # two flows: the page shows a chooser


@pytest.mark.parametrize("typed", [OPP, OPP[:15], OPP.lower(), f"  {OPP[:15]} "])
def test_a_salesforce_id_in_either_length_finds_its_opportunity(con, typed):
    found = tl.find(con, typed, tl.columns(con))
    assert [(h.entity_type, h.value, h.level) for h in found.hits] == [("opportunity", OPP, tl.EXACT)]
    assert found.flows == ["CL-0000000000"]


def test_a_15_character_id_in_the_wrong_case_still_finds_it(con):
    found = tl.find(con, OPP[:15].lower(), tl.columns(con))
    assert [(h.value, h.level) for h in found.hits] == [(OPP, tl.CASE)]


def test_event_ids_and_correlation_ids_in_any_case(con):
    cols = tl.columns(con)
    assert tl.find(con, EVT.upper().replace("-", ""), cols).records[0].value == EVT
    flow = tl.find(con, "cl-0000000003", cols)
    assert [(h.entity_type, h.value) for h in flow.hits] == [("flow", "CL-0000000003")]
    assert tl.find(con, "CL 0000000003", cols).flows == ["CL-0000000003"]


def test_what_the_run_looks_like(con):
    by = {(c.entity_type, c.column): c for c in tl.columns(con)}
    assert by[("invoice", "erp_invoice_no")].numbering == (("CM", "", 7), ("INV", "", 7))
    assert by[("invoice", "erp_invoice_no")].example.startswith("INV")  # the usual kind, not a credit note
    assert by[("opportunity", "opportunity_id")].salesforce
    assert by[("integration_event", "event_id")].shape == tl.Shape(
        "lower", ((8, "-"), (13, "-"), (18, "-"), (23, "-")), 36
    )
    assert by[("integration_event", "idempotency_key")].shape is None  # ':' and varied: searched by rewriting
    assert by[("flow", "correlation_id")].shape.render("CL0000000003") == "CL-0000000003"
    assert tl.learn_shape(["a-1", "ab-1"]) is None and tl.learn_shape(["12", "345"]) == tl.Shape("none")


@pytest.mark.parametrize(
    "junk",
    ["' OR 1=1 --", "x'); DROP TABLE canon.invoice; --", "%", "_", "INV%", "\x00\x1b[2J", "<b>INV</b>",
     '"INV0000010"', "é" * 999, "INV0000010" * 1000],
)  # fmt: skip
def test_hostile_text_is_a_value_never_sql(con, junk):
    found = tl.find(con, junk, tl.columns(con))
    assert found.hits == ()
    assert con.execute("SELECT count(*) FROM canon.invoice").fetchone()[0] == 42
    assert len(found.query) <= tl.MAX_ID_LEN


def test_control_characters_and_length(con):
    cols = tl.columns(con)
    assert tl.find(con, "INV\x000000010\t", cols).records[0].value == "INV0000010"
    long = tl.find(con, "x" * 10_000, cols)
    assert long.truncated and len(long.query) == tl.MAX_ID_LEN
    assert tl.find(con, "", cols) == tl.Result("") and tl.find(con, None, cols) == tl.Result("")
    assert tl.find(con, " \t ", cols).hits == ()


def test_an_empty_warehouse_finds_nothing():
    c = duckdb.connect()
    assert tl.columns(c) == [] and tl.find(c, "INV0000010").hits == ()


def test_the_app_warehouse_ids_still_resolve(tmp_path):
    warehouse.build(tmp_path / "data")
    c = Warehouse.at(tmp_path / "data").connect_published()
    cols = tl.columns(c)
    for typed in ("CID-0001", "cid0001", "inv-2026-0001", "INV20260001", "a0x-crm-1", "evt 2", "sow-1"):
        assert tl.find(c, typed, cols).flows == ["CID-0001"], typed
    assert [h.value for h in tl.find(c, "INV-2026-0009", cols).records] == ["INV-2026-0009"]
    assert tl.find(c, "INV-2026-0009", cols).flows == []  # on no flow: the page says Q2C-102
    c.close()


# ---- where to start ------------------------------------------------------------------------------------


def test_undelivered_flows_are_judged_per_business_event(con):
    flows = trace_start.undelivered_flows(con)
    assert [(f["correlation_id"], f["state"]) for f in flows] == [
        ("CL-0000000003", "failing"),  # the most recent first
        ("CL-0000000004", "dead-lettered"),
    ]  # CL-…02 failed once, then was delivered on a retry: recovered, not listed
    assert flows[1]["attempts"] == 6 and flows[0]["error_message"] == "boom"


def test_largest_open_cases_and_record_sources(tmp_path):
    warehouse.build(tmp_path / "data")
    c = Warehouse.at(tmp_path / "data").connect_published()
    run_id = c.execute("SELECT max(run_id) FROM results.cases").fetchone()[0]
    cases = trace_start.largest_open_cases(c, run_id)
    assert [x["correlation_id"] for x in cases][:1] == ["CID-0001"]  # Q2C-033's $48,250.50 leads
    amounts = [max(x[k] or 0 for k in trace_start.CASE_AMOUNTS) for x in cases]
    assert amounts == sorted(amounts, reverse=True)
    scoped = trace_start.largest_open_cases(c, run_id, ("c.legal_entity_id = ?", ["LE-UK"]))
    assert {x["correlation_id"] for x in scoped} == {"CID-0002"}
    where = trace_start.record_sources(c, "CID-0001", ("invoice", "opportunity"))
    assert {(r["entity_type"], r["entity_id"], r["record_type"]) for r in where} == {
        ("invoice", "INV-1", "invoice"),
        ("opportunity", "OPP-1", None),
    }
    assert [f["correlation_id"] for f in trace_start.undelivered_flows(c)] == ["CID-0001"]  # EVT-2 failed
    c.close()
