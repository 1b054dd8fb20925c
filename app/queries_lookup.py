"""The trace search's queries (closedloop/trace_lookup.py, closedloop/trace_start.py), cached per run file and
kept to the principal's scope and masking like every query in app/queries.py."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import queries as q
from closedloop import trace_lookup, trace_start
from closedloop.access import Principal

TTL = q.TTL
VIEW = q.VIEW  # the cache key is the person's view (roles, scope, masking), not who they are


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8, hash_funcs=VIEW)
def lookup_columns(path: str) -> list[trace_lookup.Column]:
    """The run's searchable columns: how their values are written, and an example of each (the hint)."""
    with q._cur(path) as cur:
        return trace_lookup.columns(cur)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def find(path: str, typed: str, who: Principal) -> trace_lookup.Result:
    """What the typed text names, within the principal's scope (nothing without detail: an executive sees
    totals only). A record on no flow is kept only for a person with no scope, as before."""
    if not who.detail:
        return trace_lookup.Result(trace_lookup.clean_id(typed))
    cols = lookup_columns(path)
    with q._cur(path) as cur:
        found = trace_lookup.find(cur, typed, cols)
        if not who.scope.limited or not found.hits:
            return found
        ok = q.flows_in_scope(cur, sorted({h.correlation_id for h in found.hits if h.correlation_id}), who)
    kept = tuple(h for h in found.hits if h.correlation_id in ok)
    return trace_lookup.Result(found.query, kept, found.truncated)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64, hash_funcs=VIEW)
def starting_points(
    path: str, run_id: str, who: Principal
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The flows with a business event still not delivered (most recent first) and the largest open cases,
    each in the principal's scope; case amounts masked as the principal's role requires."""
    if not who.detail:
        return [], []
    shown = trace_start.STARTS_SHOWN
    with q._cur(path) as cur:
        flows = trace_start.undelivered_flows(cur, limit=shown * (8 if who.scope.limited else 1))
        if who.scope.limited:
            ok = q.flows_in_scope(cur, [f["correlation_id"] for f in flows], who)
            flows = [f for f in flows if f["correlation_id"] in ok]
        cases = trace_start.largest_open_cases(
            cur, run_id, who.scope.sql("c.client_id", "c.legal_entity_id"), limit=shown
        )
    return flows[:shown], q.mask_rows(cases, who)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def record_sources(
    path: str, correlation_id: str, entity_types: tuple[str, ...], who: Principal
) -> list[dict[str, Any]]:
    """Where each record of the flow lives in its source system (for links to its page there); nothing for a
    flow outside the principal's scope."""
    if not who.detail:
        return []
    with q._cur(path) as cur:
        if not q.flows_in_scope(cur, [correlation_id], who):
            return []
        return trace_start.record_sources(cur, correlation_id, entity_types)
