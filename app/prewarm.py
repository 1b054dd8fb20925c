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

from app.queries import Run, view
from closedloop.access import Principal

log = logging.getLogger(__name__)
_warmed: set[tuple[str, tuple]] = set()
_lock = threading.Lock()


def start(run: Run | None, who: Principal) -> None:
    """Warm `run` for `who` (the principal of the session that asked: cached results are keyed by their view,
    so another role's warm-up would not help and must not be computed with more rights than asked) in a
    background thread, once per run file and view (a newly published run is a new file)."""
    if run is None:
        return
    key = (run.path, view(who))  # results are cached per view, so one warm-up serves everyone with it
    with _lock:
        if key in _warmed:
            return
        _warmed.add(key)
    # Not a daemon: at exit Python waits for it (seconds) instead of tearing the interpreter down under a
    # DuckDB query still running in it, which aborts the process ("terminate called without an active
    # exception"; seen as an exit code of 134 after a test session whose last app run was still warming).
    threading.Thread(target=_quietly, args=(run, who), name="closedloop-prewarm", daemon=False).start()


def _quietly(run: Run, who: Principal) -> None:
    if not runtime.exists():  # the server (or a test's app) has already gone
        return
    try:
        warm(run, who)
    except Exception:  # a page computes what it needs on its first visit anyway
        log.warning("prewarming run %s failed", run.run_id, exc_info=True)


def warm(run: Run, who: Principal) -> None:
    """The default queries of `who`'s pages for `run`, as `who` (synchronous; start() runs it in the background)."""
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
    if "results.cases" in have and who.can_see("overview"):  # overview: money per kind from cases
        qo.kind_totals(run.path, run.run_id, who)
        qo.kind_trend(run.path, who)
        qo.fix_first(run, as_of, who)
        qo.closed_on(run.path, as_of, who)
        qo.previous_run_started(run.path, run.run_id)
        qo.money_by_month(run.path, run.run_id, as_of, who)
        qo.money_by(run.path, run.run_id, "domain", "leakage", who)
    if "results.check_run" in have:
        if "results.kpi" in have and who.can_see("overview"):
            qo.kpi_by_date(run.path, tuple(HEADLINE.items()), who)
            q.kpis(run.path, tuple(SLA_MEASURES), who)
        if who.can_see("checks_catalog"):
            q.check_runs(run.path, who)
            if "results.finding" in have:
                qc.severity_by_check(run.path, run.run_id, who)
    catalog.check_definitions()
    if "results.cases" in have and who.can_see("findings"):  # the queue: active cases, largest first, page 1
        _, ov = workflow_panel.case_overlay(run, info)
        filters = q.Filters(lists=(("status", tuple(workflow.ACTIVE)),))
        qc.filter_options(run.path, run.run_id, who)
        qc.totals(run, as_of, filters, ov, who)
        qc.page(run, as_of, filters, ov, 1, 50, None, None, who)
    if who.can_see("trace"):  # the trace's search hint and, with no ID, where to start
        from app import queries_lookup as ql

        ql.lookup_columns(run.path)
        ql.starting_points(run.path, run.run_id, who)
    qh.coverage(run.path, run.run_id)  # overview, checks catalog and data health
    qh.health(run.path)  # data health
    qh.contract_streams(run.path, run.run_id)
    qh.contract_failures(run.path, run.run_id)
    qh.monitors(run.path, run.run_id)
    failed = qh.failed_sources(run.path, run.run_id)
    blamed = tuple(failed["source"].unique(maintain_order=True).to_list()) if not failed.is_empty() else ()
    qh.suppressed_checks(run.path, run.run_id, blamed)
