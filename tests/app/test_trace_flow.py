"""The trace page's flow summary (app/trace_flow.py): event banners by business-event state, the line saying where
the flow broke, the cases in stage order, and a time axis that never shrinks to fractions of a millisecond."""

from __future__ import annotations

import datetime as dt

from app import trace_flow
from closedloop import trace_summary as ts
from closedloop.trace import TraceRecord

T0 = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)


def test_one_moment_gets_a_day_either_side_and_a_real_span_is_left_alone():
    assert trace_flow.axis_range([T0]) == [T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=1)]
    assert trace_flow.axis_range([T0, T0 + dt.timedelta(seconds=1)])[0] == T0 - dt.timedelta(days=1)
    assert trace_flow.axis_range([T0, T0 + dt.timedelta(days=30)]) is None
    assert trace_flow.axis_range([]) is None


def test_only_events_still_broken_are_drawn_red():
    def ev(eid, status, key):
        return TraceRecord(
            "Middleware", "integration_event", eid, T0,
            {"status": status, "idempotency_key": key, "target_system": "salesforce", "entity_type": "invoice"},
        )  # fmt: skip

    records = [ev("E1", "failed", "a"), ev("E2", "success", "a"), ev("E3", "dead_letter", "b")]
    flow = ts.build("CID-1", records, [], 0, [])
    assert [r.entity_id for r in trace_flow.still_failing(records, flow)] == ["E3"]


def test_the_page_says_where_the_flow_broke_and_how_each_event_ended(app):
    at = app("trace", id="CID-0001")
    assert not at.exception
    line = next(m.value for m in at.markdown if m.value.startswith("**Where it broke**"))
    assert "**not in CRM**" in line and "invoice INV\\-1 sync failed 3×, retries pending" in line
    banner = next(e.value for e in at.error if "EVT\\-2" in e.value or "EVT-2" in e.value)
    assert "**Failing after 3 attempts, retries pending**" in banner
    assert "CRM 503 Service Unavailable" in banner
    assert not any("EVT-1" in e.value for e in at.error)  # delivered: no banner
    assert any("delivered at the first attempt" in c.value for c in at.caption)
    assert any("logged attempt" in x.label for x in at.expander)
    cases = next((m.value for m in at.markdown if m.value.startswith("**Cases along the flow**")), None)
    if cases is not None:  # cases follow the flow's order: stage by stage
        stages = [s for s in ts.STAGES if f"**{s}**" in cases]
        assert stages == sorted(stages, key=ts.STAGES.index)


def test_overview_and_data_health_count_broken_flows(app):
    for page in ("overview", "data_health"):
        at = app(page)
        assert not at.exception
        note = next(m.value for m in at.markdown if m.value.startswith("Integration:"))
        assert "still failing" in note and "recovered after retries are not counted" in note
