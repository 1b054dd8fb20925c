"""The trace page's summary of a flow: where it broke, each business event's state, its cases in stage order.

Rendering only: the model is closedloop/trace_summary.py (shared with `closedloop trace`), read through
app/queries_trace.py. Kept apart from app/views/trace.py so the page's search box and chooser
(app/trace_search.py) and this summary can change side by side.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from app import components as ui
from app import queries as q
from app import queries_trace as qt
from closedloop import trace_summary as ts
from closedloop.access import MASKED, Principal
from closedloop.trace import TraceRecord

BANNERS_SHOWN = 8  # per state; a flow with more says how many more
CASES_SHOWN = 10
# A one-record flow (or one moment) spans nothing: plotly would zoom its axis into fractions of a millisecond.
MIN_SPAN = dt.timedelta(hours=1)
PAD = dt.timedelta(days=1)
STATE_WORDS = {
    ts.DEAD_LETTERED: "Dead-lettered",
    ts.FAILING: "Still failing",
    ts.RECOVERED: "Recovered",
    ts.DELIVERED: "Delivered",
}


def summary(
    run: q.Run, cid: str, records: list[TraceRecord], findings: list[dict[str, Any]], who: Principal
) -> ts.FlowSummary:
    """The flow's summary from the records and findings the page already holds, plus its cached facts."""
    time_count, cases, stage_of = qt.flow_facts(run.path, cid, who)
    return ts.build(cid, records, findings, time_count, cases, stage_of)


def still_failing(records: list[TraceRecord], flow: ts.FlowSummary) -> list[TraceRecord]:
    """The event records of business events still failing or dead-lettered: only these are drawn red (an
    attempt that failed before its event was delivered is not a break)."""
    broken = {eid for e in flow.events if e.broken for eid in e.event_ids}
    return [r for r in records if r.entity_type == "integration_event" and r.entity_id in broken]


def axis_range(moments: list[dt.datetime]) -> list[dt.datetime] | None:
    """An x range for the swim lanes when the records span (almost) no time: a day either side."""
    if not moments:
        return None
    lo, hi = min(moments), max(moments)
    return [lo - PAD, hi + PAD] if hi - lo < MIN_SPAN else None


def where_it_broke(flow: ts.FlowSummary) -> None:
    """One line: the flow's stages, the first missing or failing one marked (red), or the first flagged one."""
    mark = flow.marked
    colour = "red" if mark is not None and mark.state in ("broken", "missing") else "orange"
    line = flow.line(escape=ui.plain, emphasis=lambda t: f":{colour}[**{t}**]")
    st.markdown(f"**Where it broke** · {line}")


def _event_text(e: ts.EventState) -> str:
    route = f"{ui.plain(e.source_system or '?')} → {ui.plain(e.target_system or '?')}"
    what = f"{ui.plain(e.event_type or 'event')} {route} · {ui.plain(e.entity_type or '')} {ui.code(e.entity_id)}"
    label = (
        e.label[:1].upper() + e.label[1:]
    )  # "Recovered after 3 attempts", "Dead-lettered after 6 attempts"
    return f"**{ui.plain(label)}** · {what} · last attempt {ui.code(e.event_ids[-1])}"


def _attempts(e: ts.EventState) -> None:
    """The event's attempts, one click away (a Markdown table: an event has a handful)."""
    with st.expander(f"{len(e.attempts)} logged attempt{'s' * (len(e.attempts) != 1)} of {e.key}"):
        rows = [
            {
                "status": a.status,
                "attempt": a.attempt,
                "when": a.ts.strftime("%Y-%m-%d %H:%M:%S") if isinstance(a.ts, dt.datetime) else None,
                "error": a.error_message,
                "event id": a.event_id,
            }
            for a in e.attempts
        ]
        st.markdown(ui.md_table(rows, ["status", "attempt", "when", "error", "event id"]))


def events(flow: ts.FlowSummary) -> None:
    """A banner per business event that is not plainly delivered: dead-lettered and still failing ones in red
    (they are the breaks), recovered ones in blue saying after how many attempts; each opens its attempts."""
    by_state: dict[str, list[ts.EventState]] = {}
    for e in flow.events:
        by_state.setdefault(e.state, []).append(e)
    for state, show in ((ts.DEAD_LETTERED, st.error), (ts.FAILING, st.error), (ts.RECOVERED, st.info)):
        mine = by_state.get(state, [])
        for e in mine[:BANNERS_SHOWN]:
            error = f" Last error: {ui.plain(e.last_error)}" if e.last_error else ""
            if state == ts.RECOVERED:
                error = (
                    f" It failed first ({ui.plain(e.last_error)}), then succeeded." if e.last_error else ""
                )
            icon = ":material/check_circle:" if state == ts.RECOVERED else ":material/sync_problem:"
            show(_event_text(e) + "." + error, icon=icon)
            _attempts(e)
        if len(mine) > BANNERS_SHOWN:
            st.caption(
                f"… and {len(mine) - BANNERS_SHOWN} more {STATE_WORDS[state].lower()} events on this flow."
            )
    delivered = len(by_state.get(ts.DELIVERED, []))
    if delivered:
        st.caption(f"{delivered} more event{'s' * (delivered != 1)} delivered at the first attempt.")


def _money(c: dict[str, Any], currency: str) -> str:
    parts = []
    for kind in ts.MONEY_KINDS:
        v = c.get(f"{kind}_rc")
        if v is not None and (v == MASKED or v):
            parts.append(f"{ui.plain(ui.money(v, currency) if v != MASKED else MASKED)} {kind}")
    if c.get("compliance_findings"):
        parts.append("compliance")
    return " · ".join(parts) or "no money measured"


def cases(flow: ts.FlowSummary, currency: str, queue: bool) -> None:
    """The flow's cases along the flow (the root cause's stage), each its money per kind and a queue link."""
    if not flow.cases:
        return
    lines = []
    for c in flow.cases[:CASES_SHOWN]:
        link = f" · [case →](findings?{urlencode({'sel': c['case_key'], 'status': 'any'})})" if queue else ""
        lines.append(
            f"1. **{ui.plain(c.get('stage'))}** · {ui.plain(c.get('root_check_id'))} {ui.plain(c.get('title') or '')}"
            f" · {_money(c, currency)} · {ui.plain(c.get('money_type'))} {ui.code(c.get('money_id'))}{link}"
        )
    more = f" (the first {CASES_SHOWN} of {len(flow.cases)})" if len(flow.cases) > CASES_SHOWN else ""
    st.markdown(f"**Cases along the flow**{more}\n\n" + "\n".join(lines))


def parent_links(findings: list[dict[str, Any]]) -> None:
    """A finding whose evidence names a parent flow (a malformed or conflicting correlation ID) leads there."""
    for cid in ts.parent_flows(findings)[:5]:
        ui.link(f"Parent flow {cid} →", "trace", {"id": cid}, icon=":material/call_merge:")


def broken_flows_note(run: q.Run, who: Principal, *, link: bool) -> None:
    """Overview and Data health: how many flows have an integration event still failing or dead-lettered
    (events that recovered after retries are not counted)."""
    if "canon.integration_event" not in q.tables(run.path):
        return
    counts = qt.broken_flows(run.path, who)
    if counts is None:
        return
    text = (
        f"Integration: **{counts.dead_lettered_flows:,}** flow{'s' * (counts.dead_lettered_flows != 1)} with a "
        f"dead-lettered event ({counts.dead_lettered_events:,} events) and **{counts.failing_flows:,}** still "
        f"failing ({counts.failing_events:,} events); events that recovered after retries are not counted."
    )
    if counts.unlinked_events:
        text += f" {counts.unlinked_events:,} of these events are on no flow (no correlation ID)."
    st.markdown(text)
    if link and (counts.dead_lettered_flows or counts.failing_flows) and who.can_see("trace"):
        st.caption("Open one in the trace by its correlation ID, invoice number or event ID.")
