"""One finding in detail: evidence, its flow, history across runs, and the actions finance takes on it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
import streamlit as st

from app import auth
from app import components as ui
from app import queries as q
from closedloop.workflow import REASONS, State, Workflow, WorkflowError


@st.cache_resource(show_spinner=False)
def workflow(url: str) -> Workflow:
    """One Workflow (engine + migrations) per ops-store URL for the whole server."""
    return Workflow(url)


def _act(fn, *args, **kwargs) -> None:
    """Record an action, tell the person, and rerun so the queue shows the new status."""
    try:
        fn(*args, **kwargs)
    except WorkflowError as exc:
        st.error(str(exc))
        return
    st.session_state["_flash"] = "Saved to the audit log."
    st.rerun()


def _evidence(details: Any) -> None:
    try:
        doc = json.loads(details) if isinstance(details, str) else (details or {})
    except json.JSONDecodeError:
        doc = {"details": details}
    if not doc:
        st.caption("No evidence columns for this check.")
        return
    ui.table(pl.DataFrame({"field": list(doc), "value": ["" if v is None else str(v) for v in doc.values()]}))


def _actions(run: q.Run, key: str, wf: Workflow, state: State | None, owner: str | None) -> None:
    who = auth.current_user()
    tabs = st.tabs(["Assign", "Acknowledge", "Resolve", "Comment", "Allowlist", "Reopen"])
    with tabs[0], st.form(f"assign_{key}", clear_on_submit=True):
        to = st.text_input(
            "Assign to (person or team)",
            value=(state.assignee if state else None) or owner or "",
            max_chars=200,
        )
        note = st.text_input("Note", max_chars=2000, key=f"assign_note_{key}")
        if st.form_submit_button("Assign", type="primary"):
            _act(wf.assign, key, who, to, note, run_id=run.run_id)
    with tabs[1], st.form(f"ack_{key}", clear_on_submit=True):
        note = st.text_input("Note (optional)", max_chars=2000, key=f"ack_note_{key}")
        if st.form_submit_button("Acknowledge", type="primary"):
            _act(wf.acknowledge, key, who, note, run_id=run.run_id)
    with tabs[2], st.form(f"resolve_{key}", clear_on_submit=True):
        reason = st.selectbox("Reason", REASONS, format_func=lambda r: r.replace("_", " "))
        note = st.text_input("Note", max_chars=2000, key=f"resolve_note_{key}")
        st.caption("The next run confirms the fix (the finding closes) or reopens it.")
        if st.form_submit_button("Resolve", type="primary"):
            _act(wf.resolve, key, who, reason, note, run_id=run.run_id)
    with tabs[3], st.form(f"comment_{key}", clear_on_submit=True):
        text = st.text_area("Comment", max_chars=2000)
        if st.form_submit_button("Add comment", type="primary"):
            _act(wf.comment, key, who, text, run_id=run.run_id)
    with tabs[4], st.form(f"allow_{key}", clear_on_submit=True):
        until = st.date_input(
            "Allowed until",
            value=ui.today() + dt.timedelta(days=30),
            min_value=ui.today(),
            max_value=ui.today() + dt.timedelta(days=366),
        )
        why = st.text_input("Why is this acceptable?", max_chars=2000)
        if st.form_submit_button("Allowlist", type="primary"):
            _act(wf.allowlist, key, who, until, why, run_id=run.run_id)
    with tabs[5], st.form(f"reopen_{key}", clear_on_submit=True):
        note = st.text_input("Note", max_chars=2000, key=f"reopen_note_{key}")
        if st.form_submit_button("Reopen"):
            _act(wf.reopen, key, who, note, run_id=run.run_id)


def _when(ts: Any) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if isinstance(ts, dt.datetime) else "—"


def _summary(payload: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in payload.items() if v not in (None, ""))


def detail(run: q.Run, key: str, wf: Workflow, state: State | None, info: dict[str, Any]) -> None:
    """The selected finding (key from ?sel=): what, why, which flow, what happened, what to do."""
    f = q.finding_detail(run.path, key)
    if f is None:
        ui.empty(
            "That finding is not in this run.",
            "It may have been closed by a later run, or the link is wrong.",
        )
        return
    if msg := st.session_state.pop("_flash", None):
        st.success(msg, icon=":material/check_circle:")
    hist = q.finding_history(run.path, key) or {}
    lifecycle = f.get("hist_status") or f.get("status") or "open"
    status = (state or State(key)).effective(lifecycle, info.get("started_at"), ui.today())
    head, close = st.columns([6, 1])
    head.subheader(f"{f['check_id']} · {ui.plain(f.get('title') or '')}")
    if close.button("Close", icon=":material/close:", key="close_detail"):
        del st.query_params["sel"]
        st.rerun()
    m = st.columns([2, 1, 3])  # the exact amount to the cent (finance reconciles it) fits without an ellipsis
    m[0].metric("$ impact", ui.money(f.get("impact_rc"), run.currency), border=True)
    m[1].metric("Severity", f.get("severity") or "—", border=True)
    with m[2].container(border=True):
        color = {
            "resolved": "green",
            "closed": "green",
            "allowlisted": "gray",
            "acknowledged": "blue",
            "assigned": "blue",
        }.get(status, "red")
        st.markdown(f"Status :{color}-badge[{ui.plain(ui.badge(status))}]")
        assignee = (state.assignee if state else None) or "nobody yet"
        st.markdown(
            f"Owner team **{ui.plain(f.get('owner_team') or '—')}** · assigned to **{ui.plain(assignee)}**"
        )
        if state and state.reason:
            st.markdown(f"Resolved as **{ui.plain(state.reason.replace('_', ' '))}**")
        if state and state.allow_until:
            st.markdown(f"Allowlisted until **{state.allow_until.isoformat()}**")
    st.markdown(f"**{ui.plain(f.get('entity_type'))}** {ui.code(f.get('entity_id'))}")
    if f.get("correlation_id"):
        ui.link(
            f"Trace flow {f['correlation_id']} →",
            "trace",
            {"id": f["correlation_id"]},
            icon=":material/timeline:",
        )
    else:
        st.caption("No correlation ID: this record is not on a resolved flow.")
        ui.link("Trace this record →", "trace", {"id": f.get("entity_id")}, icon=":material/timeline:")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Evidence**")
        _evidence(f.get("details"))
        st.markdown("**Actions**")
        _actions(run, key, wf, state, f.get("owner_team"))
    with right:
        st.markdown("**History across runs**")
        ui.table(
            pl.DataFrame(
                {
                    "": ["first seen", "last seen", "closed by a run", "times reopened", "lifecycle"],
                    "value": [
                        _when(hist.get("first_seen_at")),
                        _when(hist.get("last_seen_at")),
                        _when(hist.get("resolved_at")),
                        str(hist.get("reopened_count") or 0),
                        str(hist.get("status") or lifecycle),
                    ],
                }
            )
        )
        st.markdown("**Activity**")
        log = wf.audit(key)
        if not log:
            st.caption("Nobody has acted on this finding yet.")
        else:
            ui.table(
                pl.DataFrame(
                    {
                        "when": [_when(r["at"]) for r in log],
                        "who": [r["actor"] for r in log],
                        "action": [r["action"] for r in log],
                        "details": [_summary(r["payload"]) for r in log],
                    }
                )
            )
