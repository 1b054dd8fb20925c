"""The case queue in real headless Chromium over 625 cases: paging past the first page, grouping and expanding a
group, a case opening beside the queue where the eye is, and a bulk action written to the audit log per case."""

from __future__ import annotations

import re

import pytest

from closedloop.settings import load
from closedloop.workflow import Workflow
from tests.app import warehouse, warehouse_bulk
from tests.app.test_browser import browser, page, serving, settle, shot  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def queue_site(tmp_path_factory):
    """`streamlit run` over the bulk warehouse; yields (base URL, config path)."""
    root = tmp_path_factory.mktemp("queue")
    cfg = warehouse.write_config(root)
    warehouse.build(root / "data")
    warehouse_bulk.add_cases(root / "data")
    with serving(root, cfg) as base:
        yield base, cfg


def tick(page, grid, row: int) -> None:  # noqa: F811 - the page fixture
    """Click a row's selection box in a data grid (drawn on a canvas: by position, 35 px rows under the header)."""
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 * (row + 1) + 17)


def test_paging_past_the_first_page(queue_site, page):  # noqa: F811
    base, _ = queue_site
    page.goto(base + "/findings")
    settle(page, "Page 1 of 13")
    shot(page, "queue")
    page.get_by_role("button", name="Next ›").first.click()
    settle(page, "Page 2 of 13 · cases 51–100 of 625")
    assert re.search(r"[?&]page=2\b", page.url)
    page.goto(base + "/findings?page=11")
    settle(page, "cases 501–550 of 625")
    shot(page, "queue_page_11")


def test_a_group_expands_a_case_opens_beside_it_and_a_bulk_action_is_audited(queue_site, page):  # noqa: F811
    base, cfg = queue_site
    page.goto(base + "/findings?group=client")
    settle(page, "groups by client")
    shot(page, "queue_grouped")
    tick(page, page.get_by_test_id("stDataFrame").first, 0)  # the client with the most money first
    settle(page, "cases 1–50 of")
    assert "grp=" in page.url
    shot(page, "queue_group_expanded")

    cases = page.get_by_test_id("stDataFrame").nth(1)
    tick(page, cases, 0)  # a click opens the case on the right
    settle(page, "Why: the root cause")
    assert "sel=" in page.url
    panel = page.locator(".st-key-case_panel")
    grid, side = cases.bounding_box(), panel.bounding_box()
    assert side["x"] > grid["x"] + grid["width"] - 5  # beside the queue, not below it
    # the case's title is on screen (not below the fold) wherever the queue was scrolled to open it
    page.wait_for_function(
        "() => { const r = document.querySelector('.st-key-case_panel h3').getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= innerHeight; }",
        timeout=5_000,
    )
    assert panel.get_by_text("What to do:").count() == 1  # the rule header's remediation, in the panel
    shot(page, "queue_case_panel")

    first = re.search(r"sel=(\w+)", page.url).group(1)
    tick(page, page.get_by_test_id("stDataFrame").nth(1), 1)  # a second case: two selected, and it opens
    page.wait_for_function(
        f"() => /[?&]sel=/.test(location.search) && !location.search.includes('sel={first}')"
    )
    settle(page, "Why: the root cause")
    form = page.get_by_test_id("stForm").filter(has_text="Apply to 2 selected")
    action = form.get_by_role("combobox").first
    action.click()
    if page.get_by_role("option").count() == 0:
        action.press(
            "ArrowDown"
        )  # focused but not opened (the click came as the grid gave up focus): open it
    page.get_by_role("option", name="Acknowledge").click()
    form.get_by_role("button", name="Apply to 2 selected").click()
    settle(page, "Acknowledge: 2 cases")
    shot(page, "queue_bulk_done")
    log = Workflow(load(cfg).ops_url, subject="case").audit()
    assert len(log) == 2 and {r["action"] for r in log} == {"acknowledge"}
    assert len({r["finding_key"] for r in log}) == 2 and {r["actor"] for r in log} == {"analyst"}
    assert len({r["payload"]["bulk"]["id"] for r in log}) == 1
