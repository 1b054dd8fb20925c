"""The trace's summary queries: a flow's time entries, cases and findings' stages; the broken-flow counts.

Split from app/queries.py (same rules: read-only DuckDB on the published run, cached per run file, values
always bound, masked for the principal); the model itself is closedloop/trace_summary.py, shared with the CLI.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.queries import TTL, VIEW, _cur, flows_in_scope, mask_rows, tables
from closedloop import trace_summary as ts
from closedloop.access import Principal
from closedloop.trace import clean_id


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def flow_facts(
    path: str, correlation_id: str, who: Principal
) -> tuple[int, list[dict[str, Any]], dict[str, str | None]]:
    """What the summary needs besides the flow's records and findings: its time entries, its cases in stage
    order (money masked for the principal) and, without cases, each check's stage. Nothing for a flow outside their scope."""
    cid = clean_id(correlation_id)
    if not who.detail:
        return 0, [], {}
    with _cur(path) as cur:
        if not flows_in_scope(cur, [cid], who):
            return 0, [], {}
        have = tables(path)
        cases = ts.flow_cases(cur, cid, have)
        # findings' stages matter only when the run has no cases to place them (an older run)
        stages = {} if cases else ts.check_stages(cur, have)
        return ts.time_entries(cur, cid, have), mask_rows(cases, who), stages


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def broken_flows(path: str, who: Principal) -> ts.BrokenFlows | None:
    """Firm-wide counts of still-failing and dead-lettered flows; none for a person with a scope (fail closed)."""
    if who.scope.limited:  # aggregate counts: every role that sees the page may, unless scoped
        return None
    with _cur(path) as cur:
        return ts.broken_flows(cur)
