"""End to end in real headless Chromium against `streamlit run`: the paths an executive, analyst and engineer take."""

from __future__ import annotations

import contextlib
import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from closedloop import appserver
from tests.app import warehouse
from tests.app.processes import free_port, running

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The app's plotly charts (app/plotly_chart.py): a components.v2 element holding the plot's div.
CHART = '[data-testid="stBidiComponentRegular"]'
POINTS = f"{CHART} .cl-plot .scatterlayer .points path"

if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run` on a free port over a fresh published warehouse; yields the base URL."""
    yield from _streamlit(tmp_path_factory.mktemp("site"))


@pytest.fixture
def fresh_server(tmp_path_factory):
    """A server nobody has visited yet: the first request is the deep link under test."""
    yield from _streamlit(tmp_path_factory.mktemp("fresh"))


def _streamlit(root):
    cfg = warehouse.write_config(root)
    warehouse.build(root / "data")
    with serving(root, cfg) as base:
        yield base


@contextlib.contextmanager
def serving(root: Path, cfg: Path) -> Iterator[str]:
    """`streamlit run` of the app on a free port with `cfg` as its config, its log in root/streamlit.log;
    yields the base URL once the server answers its health check, and stops the server after."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*appserver.command(port), "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "CLOSEDLOOP_CONFIG": str(cfg)}
    with running(
        command, cwd=appserver.ROOT, env=env, log=root / "streamlit.log", health=f"{base}/_stcore/health"
    ):
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    ctx.close()


def settle(page, text: str) -> None:
    """Wait until the script run is over and `text` is on the page; no page may show an exception."""
    page.get_by_text(text, exact=False).first.wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0"
        " && !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"
    )
    page.wait_for_timeout(800)  # charts draw after the run
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()


def shot(page, name: str) -> None:
    """A screenshot of the whole page (Streamlit scrolls inside its main block, so grow the viewport)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 1000")
    size = page.viewport_size or {"width": 1440, "height": 1000}
    page.set_viewport_size({"width": size["width"], "height": min(max(height + 40, 1000), 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


@pytest.mark.parametrize(
    ("path", "text", "name"),
    [
        ("/", "Where the money is", "overview"),
        ("/findings", "largest $ first", "findings"),
        ("/findings?sel=k-033-inv1", "History across runs", "finding_detail"),
        ("/trace?id=CID-0001", "Records by system", "trace"),
        ("/data_health", "Run ledger", "data_health"),
        ("/checks_catalog?check=Q2C-010", "What it verifies", "checks_catalog"),
    ],
)
def test_each_page_renders_in_chromium(server, page, path, text, name):
    page.goto(server + path)
    settle(page, text)
    shot(page, name)
    # app/preload.py names each page's element code in its HTML. What the page fetched itself after its
    # script ran (a dynamic import: initiator "script") must be among those names. A listed chunk may still
    # be fetched that way: the links are low priority, and a fast script run can ask for one first.
    late = page.evaluate(
        "() => performance.getEntriesByType('resource')"
        ".filter(e => e.initiatorType === 'script' && /[/]static[/]js[/]/.test(e.name))"
        ".map(e => e.name.split('/').pop()).filter(n => !n.startsWith('index.'))"
    )
    # from the HTML as served: once the app runs, Vite's own loader adds modulepreload links to the document
    with urllib.request.urlopen(server + path, timeout=10) as r:
        listed = re.findall(r'rel="modulepreload"[^>]*href="\./static/js/([^"]+)"', r.read().decode())
    assert listed, f"{name}: the page's HTML names no element code"
    missing = sorted(set(late) - set(listed))
    assert missing == [], f"{name}: element code the page fetched itself, not named in its HTML: {missing}"


def test_data_health_opens_a_failing_contract_and_requests_a_run(server, page):
    page.goto(server + "/data_health")
    settle(page, "Failing expectations in this run")
    page.get_by_text("critical · salesforce · opportunity · Id unique").click()
    settle(page, "Sample failing keys")
    page.get_by_role("button", name="Run now").click()  # served on 127.0.0.1, no [app] admins: admin
    settle(page, "is pending")
    shot(page, "data_health_run_now")


def test_the_runs_timeline_draws_when_its_tab_opens(server, page):
    page.goto(server + "/data_health")
    settle(page, "Every attempt from the ops store")
    assert page.locator(CHART).count() == 0  # no chart on first paint
    page.get_by_role("tab", name="Timeline").click()
    page.locator(POINTS).first.wait_for()
    assert page.locator(POINTS).count() >= 2  # runs
    page.get_by_role("tab", name="Published runs").click()
    page.locator(CHART).first.wait_for(state="detached")


def test_the_trace_page_starts_plotly_after_its_first_paint(server, page):
    page.goto(server + "/trace")
    settle(page, "Start with any ID you have in hand")
    assert page.locator(CHART).count() == 0
    # app/preload.py: the first lookup's chart code is started once the empty page is idle
    page.wait_for_function("() => typeof window.Plotly === 'object'", timeout=20_000)
    assert page.evaluate("() => document.querySelectorAll('script[data-plotly-basic]').length") == 1


def test_a_kpi_tile_leads_to_the_findings_behind_it(server, page):
    page.goto(server + "/")
    settle(page, "Revenue leakage")
    page.get_by_role("link", name=re.compile("Open these cases")).first.click()  # the leakage tile
    page.wait_for_url(re.compile(r"/findings\?.*kind=leakage"))
    settle(page, "largest $ first")
    assert page.get_by_test_id("stMetric").first.inner_text().strip().endswith("3")  # three leakage findings


def test_a_bar_of_where_the_money_is_leads_to_its_findings(server, page):
    page.goto(server + "/")
    settle(page, "Where the money is")
    page.get_by_role("tab", name="Legal entity").click()  # a tab built on its click, not on first paint
    settle(page, "Click a bar to open its cases")
    chart = page.locator(CHART).filter(has_text="Acme Consulting").first
    bar = chart.locator(".barlayer .point path").first
    bar.scroll_into_view_if_needed()
    bar.click(force=True)  # at the bar's place: plotly's drag layer above it takes the click
    page.wait_for_url(re.compile(r"/findings\?.*kind=leakage.*entity=LE-"))
    settle(page, "largest $ first")


def test_a_finding_leads_to_its_trace(server, page):
    page.goto(server + "/findings?sel=k-033-inv1")
    settle(page, "History across runs")
    page.get_by_role("link", name=re.compile("Trace flow CID-0001")).click()
    page.wait_for_url(re.compile(r"/trace\?id=CID-0001"))
    settle(page, "Records by system")
    shot(page, "trace_from_finding")


def test_acknowledge_survives_a_reload(server, page):
    page.goto(server + "/findings?sel=k-021-prj1")
    settle(page, "History across runs")
    page.get_by_role("tab", name="Acknowledge").click()
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    settle(page, "Saved to the audit log")
    page.reload()
    settle(page, "History across runs")
    assert page.get_by_text("◉ acknowledged").count() >= 1
    assert page.get_by_text("acknowledge", exact=True).count() >= 1  # the audit entry
    shot(page, "acknowledged")


def test_a_deep_link_to_a_fresh_server_opens_with_the_router(fresh_server, page):
    page.goto(fresh_server + "/data_health")
    settle(page, "Run ledger")
    nav = page.locator('[data-testid="stSidebar"]')
    # the router's menu of titled pages in sections, not Streamlit's legacy file list ("streamlit app", "checks catalog")
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert nav.get_by_text("Checks catalog", exact=True).count() == 1
    assert nav.get_by_text("Trust", exact=True).count() == 1
    assert nav.get_by_text("streamlit app").count() == 0


def test_a_cold_trace_url_opens_the_flow(server, browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        pg = ctx.new_page()
        failed: list[str] = []
        pg.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        pg.goto(server + "/trace?id=INV-2026-0001")
        settle(pg, "Records by system")
        assert pg.get_by_text("CID-0001").count() >= 1
        # the swim lanes: one mark per record, and a mark's fields on hover
        records = int(pg.get_by_test_id("stMetricValue").first.inner_text())
        assert pg.locator(POINTS).count() == records
        pg.locator(POINTS).first.hover(force=True)
        pg.locator(f"{CHART} .hoverlayer .hovertext").first.wait_for()
        # the page named the server's base URL itself: no guessed /trace/_stcore/... requests answered 404
        assert failed == []
        # the searched invoice's system tab opens (issue 19): project, invoice, … tables of the ERP lane
        assert pg.get_by_role("tab", selected=True).inner_text().startswith("ERP")
        assert pg.get_by_test_id("stDataFrame").count() >= 2
        shot(pg, "trace_erp_records")
        pg.get_by_role("tab", name=re.compile("^Findings")).click()
        settle(pg, "open →")
        with ctx.expect_page() as opened:  # a finding opens in the queue in a new tab; the trace stays
            pg.get_by_role("link", name="open →").first.click()
        settle(opened.value, "History across runs")
        assert "sel=" in opened.value.url
    finally:
        ctx.close()


def test_a_chart_whose_code_cannot_load_says_so_and_the_page_still_works(server, browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        pg = ctx.new_page()
        pg.route(re.compile(r".*/app/static/plotly-basic-[^/]*\.js$"), lambda route: route.abort())
        pg.goto(server + "/trace?id=CID-0001")
        settle(pg, "Records by system")
        pg.get_by_text("The chart could not be drawn: plotly.js did not load").first.wait_for()
        assert pg.get_by_role("tab", name=re.compile("^ERP")).count() == 1
    finally:
        ctx.close()
