"""The trace of the tier-s demo firm in real headless Chromium: event state per business event (issue 19).

A flow whose invoice event failed once and then went through shows that event as recovered, in a blue (info)
banner, never red; a flow with a dead-lettered event shows it as dead-lettered, in red, and the line saying where
the flow broke names the CRM; each event's attempts open one click away.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from closedloop import pipeline
from closedloop.demo import generate_firm, write_demo
from closedloop.demo.config import write_demo_config
from closedloop.settings import load
from closedloop.warehouse import Warehouse
from tests.app.test_browser import browser, serving, settle, shot  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

ALERT = '[data-testid="stAlert"]'


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The tier-s demo firm collected once, then served; yields (url, a recovered flow, a dead-lettered flow,
    the run file)."""
    root = tmp_path_factory.mktemp("demo")
    firm = generate_firm("s", seed=42)
    write_demo(firm, root)
    as_of = dt.date.fromisoformat(str(firm.params["as_of"]))
    del firm
    report = pipeline.run(load(write_demo_config(root, as_of)), trigger="test")
    assert report.status == "ok" and report.published, report.errors
    cfg = root / "closedloop.toml"
    wh = Warehouse.at(load(cfg).data_dir)
    con = duckdb.connect(str(wh.runs_dir / wh.published()["file"]), read_only=True)
    try:
        ok = "SELECT 1 FROM canon.integration_event s WHERE s.idempotency_key = e.idempotency_key AND s.status = 'success'"
        dead = "SELECT correlation_id FROM canon.integration_event WHERE status = 'dead_letter'"
        recovered = con.execute(
            f"SELECT min(correlation_id) FROM canon.integration_event e WHERE status = 'failed' AND EXISTS ({ok})"
            f" AND correlation_id NOT IN ({dead})"
        ).fetchone()[0]
        dead_lettered = con.execute(
            f"SELECT min(correlation_id) FROM canon.integration_event e WHERE status = 'dead_letter'"
            f" AND NOT EXISTS ({ok})"
        ).fetchone()[0]
    finally:
        con.close()
    assert recovered and dead_lettered
    with serving(root, cfg) as base:
        yield base, recovered, dead_lettered, str(wh.runs_dir / wh.published()["file"])


@pytest.fixture
def page(browser):  # noqa: F811 - the imported fixture
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ctx.close()


def _kind(alert) -> str:
    """error / info / warning / success: which Streamlit alert an element is (its content's test id)."""
    return alert.evaluate(
        "el => (el.querySelector('[data-testid^=\"stAlertContent\"]')?.dataset.testid || '')"
        ".replace('stAlertContent', '').toLowerCase()"
    )


def test_a_recovered_event_shows_as_recovered_not_red(demo, page):
    base, recovered, _, _ = demo
    page.goto(f"{base}/trace?id={recovered}")
    settle(page, "Where it broke")
    banner = page.locator(ALERT).filter(has_text="Recovered").first
    banner.wait_for()
    assert "Recovered after 2 attempts" in banner.inner_text()
    assert _kind(banner) == "info"
    assert page.locator(ALERT).filter(has_text="Dead-lettered").count() == 0
    reds = [a for a in page.locator(ALERT).all() if _kind(a) == "error"]
    assert not reds, [a.inner_text() for a in reds]  # nothing on this flow is still broken
    page.get_by_text("2 logged attempts of").first.click()  # the attempts, one click away
    # the opened expander's attempts (every other event's stay hidden in their closed expanders)
    page.get_by_text("HTTP 503 Service Unavailable").locator("visible=true").first.wait_for()
    shot(page, "trace_recovered_event")


def test_a_dead_lettered_event_stands_out(demo, page):
    base, _, dead_lettered, _ = demo
    page.goto(f"{base}/trace?id={dead_lettered}")
    settle(page, "Where it broke")
    banner = page.locator(ALERT).filter(has_text="Dead-lettered").first
    banner.wait_for()
    text = banner.inner_text()
    assert "Dead-lettered after 6 attempts" in text and "INVALID_FIELD: Account__c not found" in text
    assert _kind(banner) == "error"
    line = (
        page.locator('[data-testid="stMarkdownContainer"]')
        .filter(has_text="Where it broke")
        .first.inner_text()
    )
    assert "not in CRM" in line and "dead-lettered" in line
    shot(page, "trace_dead_lettered_event")


def test_a_finding_naming_a_parent_flow_links_to_it(demo, page):
    base, _, _, run_file = demo
    con = duckdb.connect(run_file, read_only=True)
    try:
        key, parent = con.execute(
            "SELECT finding_key, json_extract_string(details, '$.parent_cid') FROM results.finding"
            " WHERE check_id = 'Q2C-102' AND json_extract_string(details, '$.parent_cid') <> correlation_id"
            " ORDER BY finding_key LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    page.goto(f"{base}/findings?sel={key}&status=any")
    settle(page, "Trace")
    link = page.get_by_role("link", name=f"Trace flow {parent} →")
    link.first.wait_for()
    link.first.click()
    page.wait_for_url(f"**/trace?id={parent}*")
    settle(page, "Where it broke")
    shot(page, "trace_parent_flow")
