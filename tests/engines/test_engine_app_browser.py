"""A run whose checks and KPIs ran on PostgreSQL, in the app in real headless Chromium: the overview shows the
published run's cases to the cent, as for a DuckDB run (only findings, cases and KPIs came back from the engine)."""

from __future__ import annotations

import re
from decimal import Decimal

import duckdb
import pytest

from closedloop import pipeline
from closedloop.demo import generate_firm, write_demo
from closedloop.demo.config import write_demo_config
from closedloop.settings import load
from closedloop.warehouse import Warehouse
from tests.app.test_browser import browser, serving, settle, shot  # noqa: F401 - the browser fixture
from tests.app.test_overview_browser import _cases

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def site(pg, tmp_path_factory):
    """The tier-s demo firm collected from its files, its checks and KPIs run on PostgreSQL, then served."""
    root = tmp_path_factory.mktemp("engine-site")
    firm = generate_firm("s", seed=42)
    write_demo(firm, root)
    engine = f'\n[engine]\nkind = "postgres"\nurl = "{pg.url}"\nwork_schema = "app_run"\n'
    cfg = write_demo_config(root, firm.params["as_of"], extra=engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLOSEDLOOP_ENGINE_PASSWORD", pg.password)
        report = pipeline.run(load(cfg), trigger="test")
    assert report.status == "ok" and report.published, report.errors
    assert report.engine["kind"] == "postgres" and report.engine["movement"]["rows_back"] > 0
    wh = Warehouse.at(load(cfg).data_dir)
    run_file = str(wh.runs_dir / wh.published()["file"])
    with serving(root, cfg) as base:  # the app needs no engine: it reads the run file
        yield base, run_file


def assert_overview_shows_cases(browser, base: str, run_file: str, shot_name: str) -> None:  # noqa: F811
    """The overview of the published run shows its leakage, exposure and cash cases to the cent, as the run file
    holds them (the app reads only the run file, whichever engine computed it); screenshot `shot_name`."""
    truth = _cases(run_file)
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(base + "/")
        settle(page, "Fix first")
        main = page.get_by_test_id("stMain").inner_text()
        shown = re.findall(r"\$([\d,]+\.\d{2}) in ([\d,]+) cases?", main)
        assert len(shown) == 3, shown
        for (amount, n), kind in zip(shown, ("leakage", "exposure", "cash"), strict=True):
            assert Decimal(amount.replace(",", "")) == truth[kind][0] > 0, kind
            assert int(n.replace(",", "")) == truth[kind][1], kind
        shot(page, shot_name)
    finally:
        ctx.close()


def test_the_overview_of_a_postgres_run_shows_its_cases_to_the_cent(site, browser):  # noqa: F811
    base, run_file = site
    with duckdb.connect(run_file, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM results.kpi").fetchone()[0] > 0
    assert_overview_shows_cases(browser, base, run_file, "overview_postgres_engine")
