"""Benchmark body for the pages stage: each page's first render and a trace lookup, in headless Chromium.

Run as `python -m closedloop.bench_pages CONFIG`; starts `streamlit run` on a free 127.0.0.1 port over
the config's published warehouse, prints JSON. Needs the dev extra (playwright) and Debian's chromium.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import duckdb

from closedloop import appserver, settings
from closedloop.warehouse import Warehouse

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PAGES = {
    "overview": "/",
    "findings": "/findings",
    "data_health": "/data_health",
    "checks_catalog": "/checks_catalog",
}
# Fully rendered and idle. The app's own script-run state must be past a finished run: it reads "initial"
# until the page's first run ends, so no fixed wait is needed and a fast page cannot look idle in the
# moment before its running icon shows (which would time it before its deltas arrive). Nothing may be a
# loading skeleton, the title must be up, every visible plotly or Vega-Lite chart must have drawn its SVG
# (the app's plotly charts are components.v2 elements, app/plotly_chart.py), every metric sparkline its
# chart and every visible table its grid.
IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning' || app.dataset.testConnectionState !== 'CONNECTED') return false;
  if (document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  if (!document.querySelector('[data-testid="stMainBlockContainer"] h1')) return false;
  const shown = (sel) => [...document.querySelectorAll(sel)].filter((e) => e.checkVisibility());
  for (const c of shown('[data-testid="stPlotlyChart"]')) if (!c.querySelector('.main-svg')) return false;
  for (const c of shown('[data-testid="stBidiComponentRegular"]')) if (!c.querySelector('.main-svg')) return false;
  for (const v of shown('[data-testid="stVegaLiteChart"]')) if (!v.querySelector('svg.marks, canvas')) return false;
  for (const d of shown('[data-testid="stDataFrame"]')) if (!d.querySelector('canvas')) return false;
  for (const m of shown('[data-testid="stMetricChart"]')) if (!m.querySelector('svg, canvas')) return false;
  return true;
}"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sample_ids(cfg: settings.Config) -> list[str]:
    """IDs a support engineer would paste: invoice numbers and correlation IDs of flows with findings, and their
    opportunities' 15-character Salesforce IDs. Every other number or correlation ID is typed as people do
    (lower case, a dash after the prefix), so the median covers the forgiving lookup
    (closedloop/trace_lookup.py), not only exact matches."""
    con = duckdb.connect(str(Warehouse.at(cfg.data_dir).published_path()), read_only=True)
    try:
        rows = con.execute(
            "SELECT i.erp_invoice_no FROM canon.invoice i JOIN results.finding f ON f.invoice_id = i.invoice_id"
            " WHERE i.erp_invoice_no IS NOT NULL ORDER BY f.impact_rc DESC LIMIT 5"
        ).fetchall()
        rows += con.execute(
            "SELECT correlation_id FROM results.finding WHERE correlation_id IS NOT NULL"
            " ORDER BY impact_rc DESC LIMIT 5"
        ).fetchall()
        salesforce = con.execute(
            "SELECT left(o.opportunity_id, 15) FROM canon.opportunity o JOIN results.finding f"
            " ON f.correlation_id = o.correlation_id WHERE length(o.opportunity_id) = 18"
            " ORDER BY f.impact_rc DESC LIMIT 2"
        ).fetchall()
    finally:
        con.close()
    return [_as_typed(r[0]) if i % 2 else r[0] for i, r in enumerate(rows)] + [r[0] for r in salesforce]


def _as_typed(any_id: str) -> str:
    """An ID as a person might type it: lower case, a dash between a document prefix and its number."""
    return re.sub(r"^([A-Za-z]+)(\d)", r"\1-\2", any_id).lower()


def _group_expansions(browser, base: str, groups: int = 3) -> list[dict]:
    """Select each of the first groups of the queue grouped by check: the click to its cases listed and idle."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    out = []
    try:
        page.goto(base + "/findings?group=check")
        page.wait_for_function(IDLE, timeout=120_000)
        grid = page.get_by_test_id("stDataFrame").first
        box = grid.bounding_box()
        rows = min(groups, max(int((box["height"] - 38) // 35), 0)) if box else 0
        for i in range(rows):
            before = page.evaluate("() => new URLSearchParams(location.search).get('grp')")
            t0 = time.perf_counter()
            page.mouse.click(box["x"] + 18, box["y"] + 35 * (i + 1) + 17)  # the row's selection box
            page.wait_for_function(
                "(b) => new URLSearchParams(location.search).get('grp') !== b", arg=before, timeout=60_000
            )
            page.wait_for_function(IDLE, timeout=60_000)
            out.append({"row": i, "seconds": round(time.perf_counter() - t0, 3)})
    finally:
        page.close()
    return out


def main(config: str) -> dict:
    from playwright.sync_api import sync_playwright

    cfg = settings.load(config)
    port = _port()
    proc = subprocess.Popen(
        appserver.command(port),
        cwd=appserver.ROOT,
        env={**os.environ, settings.ENV_CONFIG: str(cfg.path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        ids = _sample_ids(cfg)
        # A support engineer's usual way in: a trace link pasted into a ticket, opened cold. Its first render
        # includes the swim lanes, so plotly's start-up, which the lookups below (page already up) do not.
        pages = {**PAGES, "trace_url": "/trace?" + urllib.parse.urlencode({"id": ids[0]})} if ids else PAGES
        # first_render_seconds: a new browser profile per page (nothing cached), the strict reading
        out: dict = {"first_render_seconds": {}, "trace_lookup_seconds": []}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            warm = browser.new_page()  # the server's first script run imports everything: not a page's cost
            warm.goto(base + "/")
            warm.wait_for_function(IDLE, timeout=120_000)
            warm.close()
            for name, path in pages.items():
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                t0 = time.perf_counter()
                page.goto(base + path)
                page.wait_for_function(IDLE, timeout=120_000)
                out["first_render_seconds"][name] = round(time.perf_counter() - t0, 3)
                page.close()
            # a returning user: the browser already holds the app's static bundle (its HTTP cache)
            ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
            first = ctx.new_page()
            first.goto(base + "/")
            first.wait_for_function(IDLE, timeout=120_000)
            first.close()
            out["first_render_cached_bundle_seconds"] = {}
            for name, path in pages.items():
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(base + path)
                page.wait_for_function(IDLE, timeout=120_000)
                out["first_render_cached_bundle_seconds"][name] = round(time.perf_counter() - t0, 3)
                page.close()
            ctx.close()
            out["queue_group_expansion_seconds"] = _group_expansions(browser, base)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(base + "/trace")
            page.wait_for_function(IDLE, timeout=120_000)
            box = page.locator(
                ".st-key-trace_id input"
            )  # the search box (its placeholder shows the run's IDs)
            for any_id in ids:
                t0 = time.perf_counter()
                box.fill(any_id)
                box.press("Enter")
                page.get_by_text("Records by system").first.wait_for(timeout=60_000)
                page.wait_for_function(IDLE, timeout=60_000)
                out["trace_lookup_seconds"].append(
                    {"id": any_id, "seconds": round(time.perf_counter() - t0, 3)}
                )
                box.fill("")
                box.press("Enter")
                page.get_by_text("Records by system").first.wait_for(state="detached", timeout=60_000)
                page.wait_for_function(IDLE, timeout=60_000)
            browser.close()
        expansions = sorted(x["seconds"] for x in out["queue_group_expansion_seconds"])
        out["queue_group_expansion_median_seconds"] = expansions[len(expansions) // 2] if expansions else None
        lookups = sorted(x["seconds"] for x in out["trace_lookup_seconds"])
        out["trace_lookup_median_seconds"] = lookups[len(lookups) // 2] if lookups else None
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
