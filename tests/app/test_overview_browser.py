"""The overview of the tier-s demo firm in real headless Chromium: what it shows per kind is the cases' money.

Two runs of the demo firm (business dates a week apart) are published; the page's per-kind figures must equal
the sums over results.cases of the published run to the cent (tests/checks compare cases with the answer key),
no sum across kinds may appear, and each fix-first case opens the queue on that case.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import duckdb
import pytest

from app import components as ui
from closedloop import pipeline
from closedloop.demo import generate_firm, write_demo
from closedloop.demo.config import write_demo_config
from closedloop.settings import load
from closedloop.warehouse import Warehouse
from tests.app.test_browser import browser, serving, settle, shot  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The tier-s demo firm collected from its exports twice (a week apart), then served; yields (url, run file)."""
    root = tmp_path_factory.mktemp("demo")
    firm = generate_firm("s", seed=42)
    write_demo(firm, root)
    as_of = dt.date.fromisoformat(str(firm.params["as_of"]))
    del firm
    for day in (as_of - dt.timedelta(days=7), as_of):
        report = pipeline.run(load(write_demo_config(root, day)), trigger="test")
        assert report.status == "ok" and report.published, report.errors
    cfg = root / "closedloop.toml"
    wh = Warehouse.at(load(cfg).data_dir)
    run_file = str(wh.runs_dir / wh.published()["file"])
    with serving(root, cfg) as base:
        yield base, run_file


@pytest.fixture
def page(browser):  # noqa: F811 - the imported fixture
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ctx.close()


def _cases(run_file: str) -> dict:
    con = duckdb.connect(run_file, read_only=True)
    try:
        row = con.execute(
            "SELECT sum(leakage_rc), count(leakage_rc), sum(exposure_rc), count(exposure_rc), sum(cash_rc),"
            " count(cash_rc), count(*) FILTER (WHERE compliance_findings > 0) FROM results.cases"
            " WHERE run_id = (SELECT run_id FROM meta.run)"
        ).fetchone()
        top = [
            r[0]
            for r in con.execute(
                "SELECT case_key FROM results.cases WHERE run_id = (SELECT run_id FROM meta.run) AND leakage_rc > 0"
                " ORDER BY leakage_rc DESC, case_key LIMIT 5"
            ).fetchall()
        ]
    finally:
        con.close()
    return {
        "leakage": (row[0], row[1]),
        "exposure": (row[2], row[3]),
        "cash": (row[4], row[5]),
        "compliance": row[6],
        "top": top,
    }


def test_the_overview_shows_each_kind_as_the_cases_sum(demo, page):
    base, run_file = demo
    truth = _cases(run_file)
    page.goto(base + "/")
    settle(page, "Fix first")
    page.get_by_text("Trend by business date").first.wait_for()
    main = page.get_by_test_id("stMain").inner_text()
    shown = re.findall(r"\$([\d,]+\.\d{2}) in ([\d,]+) cases?", main)
    assert len(shown) == 3, shown  # one exact figure per money kind, in tile order
    for (amount, n), kind in zip(shown, ("leakage", "exposure", "cash"), strict=True):
        assert Decimal(amount.replace(",", "")) == truth[kind][0], kind
        assert int(n.replace(",", "")) == truth[kind][1], kind
    assert truth["leakage"][0] > 0 and truth["exposure"][0] > 0 and truth["cash"][0] > 0
    tiles = page.get_by_test_id("stMetric")
    compliance = tiles.filter(has_text="Compliance breaks").first.inner_text()
    assert f"{truth['compliance']:,} cases" in compliance and "$" not in compliance
    money = [truth[k][0] for k in ("leakage", "exposure", "cash")]
    for n in (2, 3):
        for combo in itertools.combinations(money, n):
            total = sum(combo, Decimal("0"))
            assert ui.money(total) not in main, total
            # a compact sum is only evidence when no single kind rounds to the same text
            if ui.money(total, compact=True) not in {ui.money(m, compact=True) for m in money}:
                assert ui.money(total, compact=True) not in main, total
    assert "business days" in main and re.search(r"\bbd\b", main) is None
    shot(page, "overview_demo")


def test_a_fix_first_case_opens_the_queue_on_it(demo, page):
    base, run_file = demo
    top = _cases(run_file)["top"]
    page.goto(base + "/")
    settle(page, "Fix first")
    links = page.get_by_role("link", name="Open evidence →")
    assert links.count() == len(top) == 5
    links.first.click()
    page.wait_for_url(re.compile(rf"/findings\?.*sel={top[0]}"))
