"""The trace search in real headless Chromium: IDs typed as people type them find their flow, the searched
record is marked in the swim lanes and its tab opens, and the empty page lists the failing flows."""

from __future__ import annotations

import re

import duckdb
import pytest

from closedloop.warehouse import Warehouse
from tests.app import warehouse
from tests.app.test_browser import CHART, browser, page, serving, settle, shot  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

OPP = "0065g000BZNkCuYAYV"  # a Salesforce 18; its first 15 characters are the same record


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app's warehouse with a Salesforce opportunity ID and an invoice number as the demo firm writes them."""
    root = tmp_path_factory.mktemp("search")
    cfg = warehouse.write_config(root)
    warehouse.build(root / "data")
    con = duckdb.connect(str(Warehouse.at(root / "data").published_path()))
    con.execute("UPDATE canon.opportunity SET opportunity_id = ? WHERE opportunity_id = 'OPP-1'", [OPP])
    con.execute("UPDATE canon.invoice SET erp_invoice_no = 'INV0000010' WHERE invoice_id = 'INV-1'")
    con.close()
    with serving(root, cfg) as base:
        yield base


def flow_shown(pg) -> str:
    return pg.locator("h3").filter(has_text="Flow").first.inner_text()


@pytest.mark.parametrize(
    ("typed", "lane"),
    [
        ("inv0000010", "ERP"),
        ("INV-0000010", "ERP"),
        ("  INV 0000010 ", "ERP"),
        (OPP[:15], "CRM"),
        ("cid-1", None),
    ],
)
def test_an_id_as_people_type_it_finds_its_flow(server, page, typed, lane):  # noqa: F811 - the page fixture
    page.goto(server + "/trace")
    settle(page, "Start with any ID you have in hand")
    box = page.locator(".st-key-trace_id input")
    box.fill(typed)
    box.press("Enter")
    settle(page, "Records by system")
    assert "CID-0001" in flow_shown(page)
    selected = page.get_by_role("tab", selected=True).inner_text()
    if lane is None:  # the flow's own correlation ID: no record to mark, the findings open
        assert selected.startswith("Findings")
        assert page.locator(f"{CHART} .annotation-text").count() == 0
        return
    assert selected.startswith(lane)  # the searched record's system tab opened
    label = page.locator(f"{CHART} .annotation-text").first
    label.wait_for()
    assert label.text_content().startswith("searched: ")
    assert page.get_by_test_id("stDataFrame").count() >= 1  # its records, the searched one marked ▶
    if typed == "INV-0000010":
        shot(page, "trace_search_dashes")


def test_a_15_character_salesforce_id_in_the_url(server, page):  # noqa: F811 - the page fixture
    page.goto(server + f"/trace?id={OPP[:15]}")
    settle(page, "Records by system")
    assert "CID-0001" in flow_shown(page)
    assert page.locator(f"{CHART} .annotation-text").first.text_content() == f"searched: {OPP}"
    shot(page, "trace_search_salesforce_15")


def test_the_empty_page_lists_failing_flows_one_click_each(server, page):  # noqa: F811 - the page fixture
    page.goto(server + "/trace")
    settle(page, "Still failing or dead-lettered")
    shot(page, "trace_search_empty")
    page.get_by_role("button", name=re.compile(r"CID-0001 · failing")).click()
    settle(page, "Records by system")
    assert "CID-0001" in flow_shown(page)
    assert "id=CID-0001" in page.url


def test_nothing_found_says_what_it_accepts(server, page):  # noqa: F811 - the page fixture
    page.goto(server + "/trace?id=" + "%27%3B%20DROP%20TABLE%20canon.invoice%3B%20--")
    settle(page, "The trace accepts")
    assert page.get_by_text("Nothing in this run has the ID").count() == 1
    assert page.get_by_text("INV0000010").count() >= 1  # a real example from the run
    shot(page, "trace_search_no_match")
