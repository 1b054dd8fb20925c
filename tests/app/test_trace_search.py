"""The trace page's search (app/trace_search.py) through AppTest: the run's own examples, forgiving lookups, the
chooser, the searched record's tab with failing rows first and links to the source systems, where to start."""

from __future__ import annotations

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from closedloop.warehouse import Warehouse
from tests.app import warehouse
from tests.app.conftest import APP

SOURCES = """
[sources.netsuite]
transport = "files"
path = "exports/netsuite"
account_id = "1234567"
"""


@pytest.fixture
def linked(tmp_path, monkeypatch):
    """The app's warehouse with its ERP records from the configured NetSuite source (so they get links)."""
    cfg = warehouse.write_config(tmp_path)
    cfg.write_text(cfg.read_text() + SOURCES, encoding="utf-8")
    warehouse.build(tmp_path / "data")
    con = duckdb.connect(str(Warehouse.at(tmp_path / "data").published_path()))
    con.execute("UPDATE canon.invoice SET source_system = 'netsuite', source_id = '1000' || invoice_id[5:]")
    con.close()
    monkeypatch.setenv("CLOSEDLOOP_CONFIG", str(cfg))
    st.cache_data.clear()
    st.cache_resource.clear()

    def open_trace(**params) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page("views/trace.py")
        return at.run()

    return open_trace


def text_of(at) -> str:
    return " ".join(
        [m.value for m in at.markdown] + [c.value for c in at.caption] + [b.label for b in at.button]
    )


def test_the_box_shows_real_ids_of_the_run(app):
    at = app("trace")
    box = at.text_input(key="trace_id")
    assert "CID-0001" in box.placeholder  # the run's own IDs, not a made-up format
    assert "INV-2026-0001" in text_of(at) and "any case" in text_of(at)


@pytest.mark.parametrize("typed", ["inv-2026-0001", "INV20260001", "cid0001", " a0x-crm-1 "])
def test_forgiving_lookups_open_the_flow(app, typed):
    at = app("trace", id=typed)
    assert not at.exception
    assert "CID\\-0001" in text_of(at) or "CID-0001" in text_of(at)
    assert next(m.value for m in at.metric if m.label == "Systems") == "4 of 4"


def test_the_searched_record_opens_its_tab_failing_rows_first_with_links(linked):
    at = linked(id="inv20260001")
    assert not at.exception
    assert "ignoring separators" in text_of(at)  # a near match says what it found
    frames = {tuple(df.value.columns)[:3]: df.value for df in at.dataframe}
    invoice = next(df for df in at.dataframe if "erp_invoice_no" in df.value.columns).value
    assert list(invoice.columns[:3]) == ["status", "error", "id"]  # status and error lead
    assert invoice["id"].tolist()[0] == "▶ INV-1"  # failing (a finding on it) and the searched one: on top
    assert "Q2C-033" in invoice["error"].tolist()[0]
    assert invoice["open in"].tolist()[0] == (
        "https://1234567.app.netsuite.com/app/accounting/transactions/custinvc.nl?id=10001"
    )
    assert frames  # the ERP tab was built: the lookup opened it


def test_a_correlation_id_opens_on_the_findings(app):
    at = app("trace", id="cid-0001")
    # no record table: the findings tab is open (an event's attempts, one click away, are not a record table)
    records = [d for d in at.dataframe if "event id" not in d.value.columns]
    assert not records
    assert any("findings?sel=" in m.value for m in at.markdown)


def test_several_flows_offer_a_chooser(app):
    at = app("trace", id="2")  # SOW-2, OPP-2, INV-2 … on CID-0002 and BS-2 on CID-0001
    assert "Pick one" in text_of(at)
    assert not any(m.label == "Systems" for m in at.metric)  # no flow drawn before a pick
    choice = next(b for b in at.button if "CID" in b.label and "0002" in b.label)
    choice.click().run()
    assert next(m.value for m in at.metric if m.label == "Records")
    assert "CID\\-0002" in text_of(at) or "CID-0002" in text_of(at)


def test_no_match_says_what_it_accepts(app):
    at = app("trace", id="'; SELECT 1 --")
    text = text_of(at)
    assert "Nothing in this run has the ID" in text and "The trace accepts" in text
    assert "correlation ID" in text and ("CID\\-0001" in text or "CID-0001" in text)


def test_without_an_id_the_page_offers_failing_flows_and_the_largest_cases(app):
    at = app("trace")
    labels = [b.label for b in at.button]
    assert any("CID\\-0001" in lb and "failing" in lb for lb in labels)  # EVT-2 failed after 3 attempts
    assert any("Q2C\\-033" in lb for lb in labels)  # the largest open case
    next(b for b in at.button if "failing" in b.label).click().run()
    assert next(m.value for m in at.metric if m.label == "Systems") == "4 of 4"
