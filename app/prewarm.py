"""Fill the caches behind every page's default view once per published run, in the background.

Without it the first visit to a page after a publish paid that page's imports (SQLAlchemy, APScheduler)
and its cold queries: 0.5–1.4 s of a 2 s first-render budget at tier m. The calls below are the ones the
pages make with their default widgets, so the pages find them cached; tests/app/test_prewarm.py fails if
a page's defaults drift from them.
"""

from __future__ import annotations

import importlib
import logging
import threading

from streamlit import runtime

from app.queries import Run

log = logging.getLogger(__name__)
_warmed: set[str] = set()
_lock = threading.Lock()


def start(run: Run | None) -> None:
    """Warm `run` in a background thread, once per run file (a newly published run is a new file)."""
    if run is None:
        return
    with _lock:
        if run.path in _warmed:
            return
        _warmed.add(run.path)
    # Not a daemon: at exit Python waits for it (seconds) instead of tearing the interpreter down under a
    # DuckDB query still running in it, which aborts the process ("terminate called without an active
    # exception"; seen as an exit code of 134 after a test session whose last app run was still warming).
    threading.Thread(target=_quietly, args=(run,), name="closedloop-prewarm", daemon=False).start()


def _quietly(run: Run) -> None:
    if not runtime.exists():  # the server (or a test's app) has already gone
        return
    try:
        warm(run)
    except Exception:  # a page computes what it needs on its first visit anyway
        log.warning("prewarming run %s failed", run.run_id, exc_info=True)


def warm(run: Run) -> None:
    """Every page's default queries for `run` (synchronous; start() runs it in the background)."""
    # imported here, in the background thread, so the router's own first run stays light
    from app import catalog, workflow_panel
    from app import queries as q
    from app import queries_cases as qc
    from app import queries_health as qh
    from app import queries_overview as qo
    from app.kpi_targets import HEADLINE, SLA_MEASURES
    from closedloop import workflow

    # what a page's first visit would otherwise import: the Data health page's live panels (run ledger,
    # scheduler) and plotly express for the overview's charts and the runs timeline
    for module in ("closedloop.ops", "closedloop.scheduler", "plotly.express"):
        importlib.import_module(module)

    have = q.tables(run.path)
    info = q.run_info(run.path)
    as_of = info.get("as_of")
    if "results.cases" in have:  # overview: money per kind from cases
        qo.kind_totals(run.path, run.run_id)
        qo.kind_trend(run.path)
        qo.fix_first(run, as_of)
        qo.closed_on(run.path, as_of)
        qo.previous_run_started(run.path, run.run_id)
        qo.money_by_month(run.path, run.run_id, as_of)
        qo.money_by(run.path, run.run_id, "domain", "leakage")
    if "results.check_run" in have:
        if "results.kpi" in have:
            qo.kpi_by_date(run.path, tuple(HEADLINE.items()))
            q.kpis(run.path, tuple(SLA_MEASURES))
        q.check_runs(run.path)  # checks catalog
        if "results.finding" in have:
            qc.severity_by_check(run.path, run.run_id)
    catalog.check_definitions()
    if "results.cases" in have:  # the queue: the active cases, largest amount first, first page
        _, ov = workflow_panel.case_overlay(run, info)
        filters = q.Filters(lists=(("status", tuple(workflow.ACTIVE)),))
        qc.filter_options(run.path, run.run_id)
        qc.totals(run, as_of, filters, ov)
        qc.page(run, as_of, filters, ov, 1, 50, None, None)
    qh.coverage(run.path, run.run_id)  # overview, checks catalog and data health
    qh.health(run.path)  # data health
    qh.contract_streams(run.path, run.run_id)
    qh.contract_failures(run.path, run.run_id)
    qh.monitors(run.path, run.run_id)
    failed = qh.failed_sources(run.path, run.run_id)
    blamed = tuple(failed["source"].unique(maintain_order=True).to_list()) if not failed.is_empty() else ()
    qh.suppressed_checks(run.path, run.run_id, blamed)
