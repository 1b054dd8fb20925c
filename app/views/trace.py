"""Trace for support: one ID in, the whole flow across CRM, CLM, ERP and middleware out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from app import access_ui, masking_ui, swimlanes, trace_flow
from app import components as ui
from app import queries as q
from app import queries_lookup as ql
from app import trace_search as search
from closedloop.trace import LANES, MAX_ID_LEN, TraceRecord, clean_id
from closedloop.trace_lookup import Hit, Result

FINDINGS_SHOWN = 10


who = access_ui.gate("trace")
run = q.published()
ui.header(
    "Trace", "Paste any ID: correlation ID, opportunity, contract, SOW, project, invoice number, event", run
)
if run is None:
    ui.no_run()
    st.stop()


def _timeline(records: list[TraceRecord], failed: list[TraceRecord], searched: list[Hit]) -> None:
    """The swim lanes (app/swimlanes.py): every dated record by system over time, failed integration events in
    red, the searched record ringed."""
    dated = [r for r in records if r.ts]
    if not dated:
        ui.empty("No dated records on this flow.")
        return
    x_range = trace_flow.axis_range([r.ts for r in dated])
    ui.plot_json(swimlanes.figure_json(dated, failed, searched, x_range), key="swimlanes")
    st.caption(swimlanes.key_caption(dated))


def _findings(findings: list[dict[str, Any]], cid: str) -> None:
    """The flow's findings, largest $ first, each a link to it in the findings queue.

    One Markdown list, not a data grid: a flow has a handful of findings, a line each reads better, and the
    grid cost about 60 ms of every lookup's render. Links open in a new tab, so the trace stays open.
    """
    if not findings:
        ui.empty("No findings on this flow.", "Every check that ran passed for the records on it.")
        return
    queue = who.can_see("findings")  # no links to a page the person's role does not open
    lines = [
        f"- **{ui.plain(f['check_id'])}** · {ui.plain(f['severity'])} · {ui.plain(ui.badge(f['status']))} · "
        f"**{ui.plain(ui.money(f['impact_rc'], run.currency))}** · {ui.plain(f['title'])} · "
        f"{ui.plain(f['entity_type'])} {ui.code(f['entity_id'])}"
        + (f" · [open →](findings?{urlencode({'sel': f['finding_key'], 'status': 'any'})})" if queue else "")
        for f in findings[:FINDINGS_SHOWN]
    ]
    if len(findings) > FINDINGS_SHOWN and queue:
        everything = urlencode({"q": cid, "status": "any"})
        lines.append(f"\n[All {len(findings)} findings on this flow in the queue →](findings?{everything})")
    st.markdown("\n".join(lines))


def _records(
    lane: str, mine: list[TraceRecord], searched: list[Hit], findings: list[dict[str, Any]], cid: str
) -> None:
    """One system's records on the flow (app/trace_search.py): failing first, linked to their source pages."""
    links, missing = search.record_links(run, cid, mine, who)
    search.records(lane, mine, searched, findings, links)
    search.missing_links(missing)


def _on_this_flow(
    records: list[TraceRecord], findings: list[dict[str, Any]], cid: str, result: Result, searched: list[Hit]
) -> None:
    """The flow's findings, then its records system by system, a tab each.

    Only the open tab is built and sent (a click reruns for its own): the findings first, as they are why
    support opens a trace, so a lookup draws no record table until a system's tab is opened (a flow has a
    dozen across four systems). A new lookup opens the searched record's tab, else the findings.
    """
    st.markdown("#### Findings and records by system")
    lanes = {lane: [r for r in records if r.lane == lane] for lane in LANES}
    labels = [f"Findings · {len(findings)}"] + [f"{lane} · {len(rows)}" for lane, rows in lanes.items()]
    search.open_tab(labels, list(lanes), result, searched, cid)
    tabs = st.tabs(labels, key="trace_tab", on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            _findings(findings, cid)
    for (lane, mine), tab in zip(lanes.items(), tabs[1:], strict=True):
        if tab.open:
            with tab:
                _records(lane, mine, searched, findings, cid)


# A fragment: a lookup (or a lane tab) reruns only the search box and the flow, not the router, sidebar and
# header around them, so fewer deltas travel and the browser re-renders less per lookup.
@st.fragment
def lookup() -> None:
    """The search box and everything the ID leads to."""
    cols = ql.lookup_columns(run.path)
    raw = search.search_box(cols)
    needle = clean_id(raw)
    if len(raw or "") > MAX_ID_LEN:
        st.warning(f"IDs are at most {MAX_ID_LEN} characters; searching for the first {MAX_ID_LEN}.")
    search.keep_in_url(needle)
    if not needle:
        ui.empty(
            "Start with any ID you have in hand.",
            "The trace finds the flow it belongs to and lays out every record on it, system by system.",
        )
        search.start_here(run, who)
        return

    result = ql.find(run.path, needle, who)
    cids, matches = result.flows, result.records
    if (
        st.session_state.get("_traced") != needle
    ):  # a lookup, not a rerun of the same one (a tab, a flow pick)
        st.session_state["_traced"] = needle
        access_ui.record(
            "view_trace", needle, {"run_id": run.run_id, "flows": cids[:20], "records": len(matches)}, who
        )
    if not cids:
        if matches:
            st.warning(
                "These records match, but none is on a resolved flow (no correlation ID). "
                "That is itself a finding (Q2C-102).",
                icon=":material/link_off:",
            )
            ui.table(pl.DataFrame([m.__dict__ for m in matches]))
        else:
            search.no_match(result, cols)
        return
    cid = search.chosen_flow(result)
    if cid is None:
        return
    searched = search.searched_on(result, cid)
    records, findings = q.trace_flow(run.path, cid, who)
    st.markdown(f"### Flow {ui.code(cid)}")
    search.matched_note(result, searched)
    masking_ui.caption(who)
    c = st.columns(4)
    flow = trace_flow.summary(run, cid, records, findings, who)
    trace_flow.where_it_broke(flow)
    c[0].metric("Records", f"{len(records):,}", border=True)
    c[1].metric("Systems", f"{len({r.lane for r in records})} of {len(LANES)}", border=True)
    broken = sum(1 for e in flow.events if e.broken)  # business events, not attempts (trace_summary)
    c[2].metric(
        "Integration events",
        f"{len(flow.events)}",
        delta=f"{broken} failing or dead-lettered" if broken else None,
        delta_color="inverse",
        delta_arrow="off",
        border=True,
    )
    c[3].metric("Findings on this flow", f"{len(findings)}", border=True)
    _timeline(records, trace_flow.still_failing(records, flow), searched)
    trace_flow.events(flow)
    trace_flow.cases(flow, run.currency, who.can_see("findings"))
    trace_flow.parent_links(findings)
    _on_this_flow(records, findings, cid, result, searched)


lookup()
