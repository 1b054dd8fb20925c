"""The actions finance takes, on one case (the side panel) or many (a selection, a whole group), into the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from app import access_ui
from app import components as ui
from app import queries as q
from closedloop.workflow import REASONS, State, Workflow, WorkflowError, overlay

BULK_ACTIONS = {"assign": "Assign", "acknowledge": "Acknowledge", "resolve": "Resolve"}


@st.cache_resource(show_spinner=False)
def workflow(url: str) -> Workflow:
    """The findings' workflow (entries written before cases existed; alerts read its allowlists)."""
    return Workflow(url)


@st.cache_resource(show_spinner=False)
def case_workflow(url: str) -> Workflow:
    """One case Workflow (engine + migrations) per ops-store URL for the whole server."""
    return Workflow(url, subject="case")


def case_overlay(run: q.Run, info: dict[str, Any]) -> tuple[dict[str, State], q.Overlay]:
    """The cases' workflow states now, and the overlay rows the case queries join on."""
    states = case_workflow(run.ops_url).states()
    return states, tuple(overlay(states, info.get("started_at"), ui.today()))


def reason_label(reason: str | None) -> str:
    return (reason or "").replace("_", " ")


def flash(key: str = "_flash") -> None:
    """The outcome of the last action, where it was taken (set by a callback or an action before its rerun),
    and as a toast, which shows wherever the page is scrolled."""
    if msg := st.session_state.pop(key, None):
        kind, text = msg if isinstance(msg, tuple) else ("success", msg)
        if kind == "warning":
            st.warning(text, icon=":material/warning:")
        else:
            st.success(text, icon=":material/check_circle:")
        st.toast(text, icon=":material/warning:" if kind == "warning" else ":material/check_circle:")


def _act(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Record an action, tell the person, and rerun so the queue shows the new status."""
    try:
        fn(*args, **kwargs)
    except WorkflowError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.session_state["_flash"] = "Saved to the audit log."
    st.rerun()


def actions(run: q.Run, key: str, wf: Workflow, state: State | None, owner: str | None) -> None:
    """Assign, acknowledge, resolve (a reason code is required), comment, allowlist, reopen: one case."""
    who = access_ui.current_user()
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
        reason = st.selectbox(
            "Reason code (required)",
            REASONS,
            index=None,
            placeholder="Choose a reason code",
            format_func=reason_label,
            key=f"resolve_reason_{key}",
        )
        note = st.text_input("Note: what was done", max_chars=2000, key=f"resolve_note_{key}")
        st.caption("The next run confirms the fix (the case closes) or reopens it.")
        if st.form_submit_button("Resolve", type="primary"):
            _act(wf.resolve, key, who, reason, note, run_id=run.run_id)
    with tabs[3], st.form(f"comment_{key}", clear_on_submit=True):
        text = st.text_area("Comment", max_chars=2000, key=f"comment_{key}")
        if st.form_submit_button("Add comment", type="primary"):
            _act(wf.comment, key, who, text, run_id=run.run_id)
    with tabs[4], st.form(f"allow_{key}", clear_on_submit=True):
        until = st.date_input(
            "Allowed until",
            value=ui.today() + dt.timedelta(days=30),
            min_value=ui.today(),
            max_value=ui.today() + dt.timedelta(days=366),
        )
        why = st.text_input("Why is this acceptable?", max_chars=2000, key=f"allow_why_{key}")
        if st.form_submit_button("Allowlist", type="primary"):
            _act(wf.allowlist, key, who, until, why, run_id=run.run_id)
    with tabs[5], st.form(f"reopen_{key}", clear_on_submit=True):
        note = st.text_input("Note", max_chars=2000, key=f"reopen_note_{key}")
        if st.form_submit_button("Reopen"):
            _act(wf.reopen, key, who, note, run_id=run.run_id)


# ---- bulk ---------------------------------------------------------------------------------------------------


def _bulk(
    form: str,
    run: q.Run,
    shown: tuple[str, ...],
    scope: str,
    now_members: Callable[[], tuple[str, ...]] | None,
) -> None:
    """Form callback: act on the keys that were on screen when the button was drawn (`shown`), one audit row
    each. For a whole group, compare with its members now and say what changed; the action stays on `shown`."""
    ss = st.session_state
    action = ss.get(f"{form}_action") or "assign"
    fields: dict[str, Any] = {"note": ss.get(f"{form}_note") or ""}
    if action == "assign":
        fields["assignee"] = ss.get(f"{form}_assignee") or ""
    if action == "resolve":
        fields["reason"] = ss.get(f"{form}_reason")
    now = set(now_members()) if now_members is not None else set(shown)  # before acting: the group as it is
    try:
        case_workflow(run.ops_url).bulk(
            action, list(shown), access_ui.current_user(), run_id=run.run_id, scope=scope, **fields
        )
    except WorkflowError as exc:
        ss["_bulk_flash"] = ("warning", f"Nothing was saved: {exc}.")
        return
    ss["_bulk_gen"] = ss.get("_bulk_gen", 0) + 1  # a new table key: the old selection is cleared
    n = len(shown)
    done = f"{BULK_ACTIONS[action]}: {n:,} case{'s' if n != 1 else ''} ({scope}), one audit entry each."
    joined, left = len(now - set(shown)), len(set(shown) - now)
    if joined or left:
        ss["_bulk_flash"] = (
            "warning",
            f"{done} The group changed since it was shown ({joined:,} case{'s' if joined != 1 else ''} joined, "
            f"{left:,} left): the action was applied to the {n:,} cases that were shown, not to the group as it "
            "is now.",
        )
    else:
        ss["_bulk_flash"] = done


def bulk_form(
    form: str,
    run: q.Run,
    selected: tuple[str, ...],
    group: tuple[str, tuple[str, ...], Callable[[], tuple[str, ...]]] | None = None,
    *,
    compact: bool = False,
) -> None:
    """Assign, acknowledge or resolve the selected cases, or (group = label, its keys as shown, its keys now)
    every case of a group. Submitting binds the keys drawn with the buttons: what was shown is what is acted on."""
    flash("_bulk_flash")
    with st.form(form, clear_on_submit=True, border=True):
        c = [*st.columns(2), *st.columns(2)] if compact else st.columns([2, 3, 3, 4])
        c[0].selectbox("Action", list(BULK_ACTIONS), format_func=BULK_ACTIONS.get, key=f"{form}_action")
        c[1].text_input("Assign to", max_chars=200, key=f"{form}_assignee", placeholder="for Assign")
        c[2].selectbox(
            "Reason code",
            REASONS,
            index=None,
            placeholder="required to Resolve",
            format_func=reason_label,
            key=f"{form}_reason",
        )
        c[3].text_input("Note", max_chars=2000, key=f"{form}_note")
        b = st.columns([1, 1, 0.01]) if compact else st.columns([1, 1, 2])
        b[0].form_submit_button(
            f"Apply to {len(selected):,} selected",
            type="primary",
            disabled=not selected,
            on_click=_bulk,
            args=(form, run, selected, f"{len(selected)} selected", None),
            key=f"{form}_selected",
        )
        if group is not None:
            label, keys, now = group
            b[1].form_submit_button(
                f"Apply to all {len(keys):,} in this group",
                disabled=not keys,
                on_click=_bulk,
                args=(form, run, keys, f"group {label}", now),
                key=f"{form}_group",
            )
        if not compact:
            b[2].caption(
                "Select rows in the table (the box left of each row) to act on several cases at once."
            )
