"""What each role sees, end to end: headless Chromium signs in through the real provider (idp/) and reads the
pages as that person would. Support traces a flow and finds none of its amounts or rates, only ••• and a
caption saying what is masked; finance sees them; the executive sees totals and no case; a finance person
scoped to LE-US gets that entity's count and totals and nothing of a case of another entity.

Every figure expected or forbidden is read from the published DuckDB file directly, not through the app."""

from __future__ import annotations

import glob
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from closedloop.access import MASKED
from tests.app.test_oidc_browser import (  # noqa: F401  (browser and sync_api are fixtures used by name)
    _new_page,
    browser,
    settle,
    shot,
    sign_in,
    stack,
    sync_api,
    text_of,
)

pytestmark = pytest.mark.browser

FLOW = "CID-0001"  # tests/app/warehouse.py: Globex's engagement in LE-US, its invoice INV-1 under-billed
RATED = "k-033-inv1"  # Q2C-033 on INV-1 (T&M billed at a rate other than the contract's): its evidence
RATES = {"billed_rate": "185.50", "contract_rate": "212.75", "hours": "120.00"}  # given to it below
MASK_CAPTION = "Masked for your role"


def _run_file(data: Path) -> str:
    [path] = glob.glob(str(data / "warehouse" / "runs" / "*.duckdb"))
    return path


def _with_rates(data: Path) -> None:
    """The fixture's Q2C-033 finding says only which check and invoice; give it the rates such a rule emits."""
    with duckdb.connect(_run_file(data)) as con:
        con.execute(
            "UPDATE results.finding SET details = ? WHERE finding_key = ?", [json.dumps(RATES), RATED]
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory, sync_api):  # noqa: F811
    with stack(tmp_path_factory.mktemp("roles"), prepare=_with_rates) as s:
        yield s


@pytest.fixture(scope="module")
def db(site):
    with duckdb.connect(_run_file(site.root / "data"), read_only=True) as con:
        yield con


@pytest.fixture
def page(browser, site):  # noqa: F811
    pg = _new_page(browser, site)
    yield pg
    pg.context.close()


def flow_money(db, cid: str) -> set[Decimal]:
    """Every amount and rate on the flow: each DECIMAL(18,2) value of its canonical records, and its findings'."""
    cols = db.execute(
        "SELECT c.table_name, list(c.column_name) FROM information_schema.columns c "
        "WHERE c.table_schema = 'canon' AND c.data_type = 'DECIMAL(18,2)' AND c.table_name IN "
        "(SELECT table_name FROM information_schema.columns WHERE table_schema = 'canon' "
        "AND column_name = 'correlation_id') GROUP BY 1"
    ).fetchall()
    values: set[Decimal] = set()
    for table, names in cols:
        for row in db.execute(
            f"SELECT {', '.join(names)} FROM canon.{table} WHERE correlation_id = ?", [cid]
        ).fetchall():
            values.update(v for v in row if v is not None)
    for table in ("results.finding", "results.finding_history"):
        values.update(
            v
            for (v,) in db.execute(
                f"SELECT impact_rc FROM {table} WHERE correlation_id = ?", [cid]
            ).fetchall()
            if v is not None
        )
    return values


def spellings(d: Decimal) -> set[str]:
    """The ways a page may write an amount: 58000.00, 58,000.00, 58000, 58,000, 58.0K."""
    out = {f"{d}", f"{d:,}"}
    if d == d.to_integral_value():
        out |= {f"{int(d)}", f"{int(d):,}"}
    for cut, suffix in ((Decimal(10**6), "M"), (Decimal(10**3), "K")):
        if d >= cut:
            out.add(f"{(d / cut).quantize(Decimal('0.1'), ROUND_HALF_UP)}{suffix}")
            break
    return out


def shows(text: str, d: Decimal) -> list[str]:
    """The spellings of `d` found in `text` as whole numbers (58,000 is not inside 158,000 or 58,000.5)."""
    return [s for s in spellings(d) if re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d]|[.,]\d)", text)]


# The rows the page's data grids have written into their screen-reader tables (they do so after drawing).
GRID_ROWS = """n => document.querySelectorAll('[data-testid="stDataFrame"] tbody tr:has(td)').length === n"""


def trace_texts(page, site, cid: str, name: str) -> str:
    """The trace of one flow, every tab opened in turn (only the open tab is sent): all the text it showed.

    The record tables are data grids drawn on a canvas, whose cells the page also holds as text for screen
    readers, but only the columns in view: a page wide enough puts every column of a record in view."""
    page.set_viewport_size({"width": 3200, "height": 1400})
    page.goto(f"{site.base}/trace?id={cid}")
    page.get_by_text(f"Flow {cid}").wait_for()
    settle(page)
    texts = [text_of(page, site)]
    tabs = page.get_by_role("tab")
    labels = tabs.all_inner_texts()
    assert len(labels) == 5, labels  # the findings, then CRM, CLM, ERP and Middleware
    for i in range(len(labels)):
        tabs.nth(i).click()
        settle(page)
        if i:  # a system's tab: as many rows in its grids as its label counts records
            rows = int(labels[i].rsplit("·", 1)[1])
            page.wait_for_function(GRID_ROWS, arg=rows)
        texts.append(text_of(page, site))
        texts.append(page.content())  # the markup too: a value in a title or tooltip is shown all the same
        if i in (0, 2):  # the findings, and the CLM tab's wide SOW and amendment records
            shot(page, f"{name}_{i}")
    return "\n".join(texts)


def metrics(page) -> dict[str, str]:
    """Each metric on the page: its label → its value as drawn."""
    out = {}
    for m in page.locator('[data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def test_support_traces_a_flow_and_sees_no_amount_or_rate(site, db, page):
    money = flow_money(db, FLOW)
    assert len(money) >= 5, money  # the flow's opportunity, SOW, schedule, invoice, payment and findings
    sign_in(page, site, "sam")
    text = trace_texts(page, site, FLOW, "roles_sam_trace")
    assert "INV-2026-0001" in text and "OPP-1" in text, "the flow's records are not on the page"
    leaks = {str(d): shows(text, d) for d in money | {Decimal(v) for v in RATES.values()}}
    assert {k: v for k, v in leaks.items() if v} == {}
    assert MASKED in text
    assert f"{MASK_CAPTION} (support): amounts, contacts, margins, rates, shown as {MASKED}" in text


def test_finance_traces_the_same_flow_and_sees_its_amounts(site, db, page):
    money = flow_money(db, FLOW)
    sign_in(page, site, "fred")
    text = trace_texts(page, site, FLOW, "roles_fred_trace")
    assert {str(d) for d in money if not shows(text, d)} == set()
    assert MASK_CAPTION not in text
    page.goto(f"{site.base}/findings?sel={RATED}")  # the finding's case, its evidence beside the queue
    page.get_by_text("T&M time billed at rate").first.wait_for()
    settle(page)
    case = text_of(page, site)
    shot(page, "roles_fred_case_rates")
    assert all(shows(case, Decimal(v)) for v in (RATES["billed_rate"], RATES["contract_rate"])), case
    assert MASKED not in case


def _totals(db, where: str = "true", params: tuple = ()) -> dict[str, Decimal | int]:
    """Open cases of the published run and their money per kind, straight from the file."""
    row = db.execute(
        "SELECT count(*), coalesce(sum(leakage_rc), 0), coalesce(sum(cash_rc), 0) FROM results.cases "
        f"WHERE run_id = (SELECT run_id FROM meta.run ORDER BY started_at DESC LIMIT 1) AND {where}",
        list(params),
    ).fetchone()
    return {"cases": row[0], "leakage": row[1], "cash": row[2]}


def compact(d: Decimal) -> str:
    """A total as the queue's and overview's metrics draw it: $56.3K, or $999.99 and $0.00 below a thousand."""
    return "$" + (sorted(spellings(d), key=len)[0] if d >= 1000 else f"{d:,.2f}")


def test_the_executive_sees_totals_and_no_case(site, db, page):
    sign_in(page, site, "eve")
    page.get_by_text("Where the money is").first.wait_for()
    settle(page)
    body = text_of(page, site)
    shot(page, "roles_eve_overview")
    firm = _totals(db)
    assert compact(firm["leakage"]) in body, (compact(firm["leakage"]), body)  # the kind totals are drawn
    names = [n for (n,) in db.execute("SELECT name FROM canon.client").fetchall()]
    docs = [n for (n,) in db.execute("SELECT erp_invoice_no FROM canon.invoice").fetchall()]
    assert [x for x in (*names, *docs, "T&M time billed at rate") if x in body] == []  # no case is listed


def test_the_executive_gets_no_link_to_a_page_she_cannot_open(site, page):
    sign_in(page, site, "eve")
    page.get_by_text("Where the money is").first.wait_for()
    settle(page)
    hrefs = page.locator('[data-testid="stMain"] a[href]').evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    assert [h for h in hrefs if re.search(r"findings|trace|data_health|checks_catalog|audit", h)] == []


def test_scoped_finance_sees_its_entity_and_nothing_of_another(site, db, page):
    us = _totals(db, "legal_entity_id = ?", ("LE-US",))
    firm = _totals(db)
    assert us["cases"] < firm["cases"] and us["cash"] != firm["cash"]  # the scope changes what is counted
    sign_in(page, site, "fiona")
    page.goto(f"{site.base}/findings")
    page.get_by_text("largest $ first").first.wait_for()
    settle(page)
    shown = metrics(page)
    shot(page, "roles_fiona_queue")
    assert shown["Cases"] == f"{us['cases']:,}"
    assert shown["Leakage"] == compact(us["leakage"]), shown
    assert shown["Cash"] == compact(us["cash"]), shown
    [(uk_case, uk_cid, uk_client)] = db.execute(
        "SELECT c.case_key, c.correlation_id, cl.name FROM results.cases c JOIN canon.client cl USING (client_id)"
        " WHERE c.legal_entity_id = 'LE-UK' AND c.cash_rc = 12500"
    ).fetchall()
    for sel in (uk_case, "k-010-sow2"):  # the case's key, and its finding's (the trace links by finding)
        page.goto(f"{site.base}/findings?sel={sel}")
        page.get_by_text("largest $ first").first.wait_for()
        settle(page)
        body = text_of(page, site)
        assert [x for x in (uk_case, uk_cid, uk_client, "SOW-2", "12,500", "12.5K") if x in body] == []
    shot(page, "roles_fiona_other_entity_case")
