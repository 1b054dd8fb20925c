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
# The verb a refusal uses ("your role does not comment on cases").
ACTION_VERBS = {"comment": "comment on"}
CASE_ACTIONS = {  # action -> its tab's label, in the order a case is worked
    "assign": "Assign",
    "acknowledge": "Acknowledge",
    "resolve": "Resolve",
    "comment": "Comment",
    "allowlist": "Allowlist",
    "reopen": "Reopen",
}


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
    """The outcome of the last action, where it was taken (set by a callback before its rerun), and as a toast,
    which shows wherever the page is scrolled."""
    if msg := st.session_state.pop(key, None):
        kind, text = msg if isinstance(msg, tuple) else ("success", msg)
        if kind == "error":
            st.error(text, icon=":material/error:")
        elif kind == "warning":
            st.warning(text, icon=":material/warning:")
        else:
            st.success(text, icon=":material/check_circle:")
        st.toast(text, icon=":material/check_circle:" if kind == "success" else ":material/warning:")


def refused(action: str) -> str:
    """What a person is told when their role lacks the action they submitted (the refusal is audited)."""
    return f"Nothing was saved: your role does not {ACTION_VERBS.get(action, action)} cases."


def _fields(action: str, key: str) -> dict[str, Any]:
    """What the form of `action` on case `key` submitted (read in its callback, before the form clears)."""
    ss = st.session_state
    if action == "assign":
        return {"assignee": ss.get(f"assign_to_{key}"), "note": ss.get(f"assign_note_{key}")}
    if action == "acknowledge":
        return {"note": ss.get(f"ack_note_{key}")}
    if action == "resolve":
        return {"reason": ss.get(f"resolve_reason_{key}"), "note": ss.get(f"resolve_note_{key}")}
    if action == "comment":
        return {"text": ss.get(f"comment_{key}")}
    if action == "allowlist":
        return {"until": ss.get(f"allow_until_{key}"), "reason": ss.get(f"allow_why_{key}")}
    return {"note": ss.get(f"reopen_note_{key}")}


def _act(action: str, wf: Workflow, run: q.Run, key: str) -> None:
    """Form callback: the signed-in person of *this* request may take the action (else an audited refusal and
    nothing saved), then one audit row; the outcome is flashed on the rerun that follows."""
    who = access_ui.principal()
    if not access_ui.allowed(who, action, key):
        st.session_state["_flash"] = ("error", refused(action))
        return
    f = _fields(action, key)
    calls: dict[str, Callable[[], Any]] = {
        "assign": lambda: wf.assign(key, who.actor, f["assignee"], f["note"] or "", run_id=run.run_id),
        "acknowledge": lambda: wf.acknowledge(key, who.actor, f["note"] or "", run_id=run.run_id),
        "resolve": lambda: wf.resolve(key, who.actor, f["reason"], f["note"] or "", run_id=run.run_id),
        "comment": lambda: wf.comment(key, who.actor, f["text"], run_id=run.run_id),
        "allowlist": lambda: wf.allowlist(key, who.actor, f["until"], f["reason"], run_id=run.run_id),
        "reopen": lambda: wf.reopen(key, who.actor, f["note"] or "", run_id=run.run_id),
    }
    try:
        calls[action]()
    except WorkflowError as exc:
        st.session_state["_flash"] = ("error", f"Nothing was saved: {exc}.")
        return
    st.session_state["_flash"] = "Saved to the audit log."


def actions(run: q.Run, key: str, wf: Workflow, state: State | None, owner: str | None) -> None:
    """The actions the person's role has on one case, each a form whose callback enforces the role again:
    assign, acknowledge, resolve (a reason code and a note are required), comment, allowlist, reopen."""
    who = access_ui.principal()
    mine = [a for a in CASE_ACTIONS if who.can(a)]
    if not mine:
        st.caption(":material/lock: Your role does not act on cases; their history is below.")
        return
    tabs = dict(zip(mine, st.tabs([CASE_ACTIONS[a] for a in mine]), strict=True))

    def submit(action: str, label: str, primary: bool = True) -> None:
        st.form_submit_button(
            label, type="primary" if primary else "secondary", on_click=_act, args=(action, wf, run, key)
        )

    if "assign" in tabs:
        with tabs["assign"], st.form(f"assign_{key}", clear_on_submit=True):
            st.text_input(
                "Assign to (person or team)",
                value=(state.assignee if state else None) or owner or "",
                max_chars=200,
                key=f"assign_to_{key}",
            )
            st.text_input("Note", max_chars=2000, key=f"assign_note_{key}")
            submit("assign", "Assign")
    if "acknowledge" in tabs:
        with tabs["acknowledge"], st.form(f"ack_{key}", clear_on_submit=True):
            st.text_input("Note (optional)", max_chars=2000, key=f"ack_note_{key}")
            submit("acknowledge", "Acknowledge")
    if "resolve" in tabs:
        with tabs["resolve"], st.form(f"resolve_{key}", clear_on_submit=True):
            st.selectbox(
                "Reason code (required)",
                REASONS,
                index=None,
                placeholder="Choose a reason code",
                format_func=reason_label,
                key=f"resolve_reason_{key}",
            )
            st.text_input("Note: what was done (required)", max_chars=2000, key=f"resolve_note_{key}")
            st.caption("The next run confirms the fix (the case closes) or reopens it.")
            submit("resolve", "Resolve")
    if "comment" in tabs:
        with tabs["comment"], st.form(f"comment_{key}", clear_on_submit=True):
            st.text_area("Comment", max_chars=2000, key=f"comment_{key}")
            submit("comment", "Add comment")
    if "allowlist" in tabs:
        with tabs["allowlist"], st.form(f"allow_{key}", clear_on_submit=True):
            st.date_input(
                "Allowed until",
                value=ui.today() + dt.timedelta(days=30),
                min_value=ui.today(),
                max_value=ui.today() + dt.timedelta(days=366),
                key=f"allow_until_{key}",
            )
            st.text_input("Why is this acceptable?", max_chars=2000, key=f"allow_why_{key}")
            submit("allowlist", "Allowlist")
    if "reopen" in tabs:
        with tabs["reopen"], st.form(f"reopen_{key}", clear_on_submit=True):
            st.text_input("Note", max_chars=2000, key=f"reopen_note_{key}")
            submit("reopen", "Reopen", primary=False)


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
    who = access_ui.principal()  # whoever sent this request, not whoever was shown the form
    if not access_ui.allowed(who, action, scope):
        ss["_bulk_flash"] = ("warning", refused(action))
        return
    fields: dict[str, Any] = {"note": ss.get(f"{form}_note") or ""}
    if action == "assign":
        fields["assignee"] = ss.get(f"{form}_assignee") or ""
    if action == "resolve":
        fields["reason"] = ss.get(f"{form}_reason")
    now = set(now_members()) if now_members is not None else set(shown)  # before acting: the group as it is
    try:
        case_workflow(run.ops_url).bulk(
            action, list(shown), who.actor, run_id=run.run_id, scope=scope, **fields
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
    mine = [a for a in BULK_ACTIONS if access_ui.principal().can(a)]
    if not mine:
        return  # a role without case actions gets no bulk form (the callback refuses a stale one)
    with st.form(form, clear_on_submit=True, border=True):
        c = [*st.columns(2), *st.columns(2)] if compact else st.columns([2, 3, 3, 4])
        c[0].selectbox("Action", mine, format_func=BULK_ACTIONS.get, key=f"{form}_action")
        c[1].text_input("Assign to", max_chars=200, key=f"{form}_assignee", placeholder="for Assign")
        c[2].selectbox(
            "Reason code",
            REASONS,
            index=None,
            placeholder="required to Resolve",
            format_func=reason_label,
            key=f"{form}_reason",
        )
        c[3].text_input("Note", max_chars=2000, key=f"{form}_note", placeholder="required to Resolve")
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
