"""One case beside the queue: what broke and why, the money per kind, its documents and source records, the
actions, then its symptoms (the other findings, in flow order) and its history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import streamlit as st

from app import catalog, deeplinks, evidence, masking_ui, workflow_panel
from app import components as ui
from app import queries as q
from app import queries_case_detail as qd
from closedloop.access import Principal
from closedloop.trace_summary import parent_flows
from closedloop.workflow import State

STATUS_COLORS = {"resolved": "green", "closed": "green", "allowlisted": "gray", "acknowledged": "blue"}
MONEY_LABELS = {  # kind -> (amount column, its label, second figure column, that figure's label)
    "leakage": ("leakage_rc", "Leakage", "leakage_expected_rc", "expected loss"),
    "exposure": ("exposure_rc", "Exposure", None, None),
    "cash": ("cash_rc", "Cash", "cash_cost_rc", "cost of the delay"),
}


def _when(ts: Any) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if isinstance(ts, dt.datetime) else "—"


def _remediation(check_id: str | None) -> str | None:
    d = {c.id: c for c in catalog.check_definitions()}.get(check_id or "")
    return d.remediation if d else None


def _money(c: dict[str, Any], currency: str) -> None:
    """One figure per kind the case has (never a total across kinds); compliance as a count."""
    kinds = [k for k, (col, *_) in MONEY_LABELS.items() if c.get(col) is not None]
    boxes = st.columns(max(len(kinds) + (1 if c.get("compliance_findings") else 0), 1))
    for box, kind in zip(boxes, kinds, strict=False):
        col, label, second, second_label = MONEY_LABELS[kind]
        extra = c.get(second) if second else None
        box.metric(
            label,
            ui.money(c.get(col), currency),
            delta=f"{second_label} {ui.money(extra, currency)}" if extra is not None else None,
            delta_color="off",
            delta_arrow="off",
            border=True,
            help=f"{label}: counted once for this case, whatever number of its checks measure it.",
        )
    if c.get("compliance_findings"):
        n = int(c["compliance_findings"])
        boxes[-1].metric("Compliance", f"{n} finding{'s' if n != 1 else ''}", border=True)
    if not kinds and not c.get("compliance_findings"):
        boxes[0].caption("No money measured on this case.")


def _documents(run: q.Run, c: dict[str, Any], findings: list[dict[str, Any]]) -> None:
    """Client name, document numbers, the flow's trace, and the records' pages in the source systems."""
    parts = [f"Client **{ui.plain(c.get('client_name') or c.get('client_id') or '—')}**"]
    if c.get("erp_invoice_no") or c.get("invoice_id"):
        parts.append(f"invoice {ui.code(c.get('erp_invoice_no') or c.get('invoice_id'))}")
    if c.get("sow_id"):
        parts.append(f"SOW {ui.code(c['sow_id'])}")
    if c.get("project_id"):
        name = c.get("project_name")
        parts.append(f"project {ui.code(c['project_id'])}" + (f" {ui.plain(name)}" if name else ""))
    if c.get("legal_entity_name"):
        parts.append(f"entity {ui.plain(c['legal_entity_name'])}")
    st.markdown(" · ".join(parts))
    wanted = {(f["entity_type"], f["entity_id"]) for f in findings}
    for etype in ("invoice", "sow", "project", "client"):
        wanted |= {(etype, f.get(f"{etype}_id")) for f in findings if f.get(f"{etype}_id")}
        if c.get(f"{etype}_id"):
            wanted.add((etype, c[f"{etype}_id"]))
    links = deeplinks.links(
        qd.source_records(run.path, tuple(sorted(wanted))), deeplinks.configured_sources()
    )
    with_url = [lk for lk in links if lk.url]
    if with_url:
        st.markdown(
            "**Open in the source system**\n"
            + "\n".join(f"- [{ui.plain(lk.system)} {ui.plain(lk.label)} ↗]({lk.url})" for lk in with_url[:8])
        )
    missing = sorted({lk.missing for lk in links if lk.url is None and lk.missing})
    if missing:
        st.caption("No record links for " + ", ".join(missing).replace("[", "\\[") + " is not set.")
    cid = c.get("correlation_id")
    # a record whose own correlation ID is malformed or conflicting is a one-record flow: its evidence names the
    # flow it belongs to (parent_cid), which is the trace worth opening (issue 19)
    parents = parent_flows(findings)[:3]
    for parent in parents:
        ui.link(f"Trace flow {parent} →", "trace", {"id": parent}, icon=":material/timeline:")
    if cid and cid not in parents:
        label = f"Trace this record's own ID {cid} →" if parents else f"Trace flow {cid} →"
        ui.link(label, "trace", {"id": cid}, icon=":material/timeline:")


def _finding_line(f: dict[str, Any], currency: str) -> str:
    amount = f"{ui.money(f.get('impact_rc'), currency)} {f.get('impact_kind')}"
    if f.get("impact_kind") == "compliance":
        amount = "compliance" + (
            f" (affects {ui.money(f['impact_rc'], currency)})" if f.get("impact_rc") else ""
        )
    return (
        f"**{ui.plain(f.get('title') or f['check_id'])}** · {ui.plain(f['check_id'])} · {ui.plain(f.get('stage'))}"
        f" · {ui.plain(f.get('severity'))} · {ui.plain(amount)} · {ui.plain(f['entity_type'])} {ui.code(f['entity_id'])}"
    )


def _evidence(f: dict[str, Any], run: q.Run) -> None:
    ev = evidence.describe(
        f.get("details"), impact_rc=f.get("impact_rc"), reporting_ccy=run.currency,
        document_ccy=f.get("document_currency"),
    )  # fmt: skip
    if ev.sentence:
        st.markdown(f"**Expected vs actual:** {ui.plain(ev.sentence)}")
    if f.get("expected_loss_rc") is not None:
        label = "cost of the delay" if f.get("impact_kind") == "cash" else "expected loss"
        st.markdown(f"**{label.capitalize()}:** {ui.plain(ui.money(f['expected_loss_rc'], run.currency))}")
    if ev.fields:
        ui.table(pl.DataFrame({"evidence": [k for k, _ in ev.fields], "value": [v for _, v in ev.fields]}))
    else:
        st.caption("No evidence columns for this check.")


def _history(f: dict[str, Any]) -> str:
    return (
        f"first seen {_when(f.get('first_seen_at'))} · last seen {_when(f.get('last_seen_at'))} · "
        f"{f.get('lifecycle') or 'open'}"
        + (f" · reopened {f['reopened_count']}×" if f.get("reopened_count") else "")
    )


def _activity(run: q.Run, key: str, findings: list[dict[str, Any]]) -> None:
    log = workflow_panel.case_workflow(run.ops_url).audit(key)
    by_finding = {f["finding_key"]: f["check_id"] for f in findings}
    older = workflow_panel.workflow(run.ops_url).audit_many(list(by_finding)) if by_finding else []
    rows = [(r, "case") for r in log] + [
        (r, f"finding {by_finding.get(r['finding_key'], '')}") for r in older
    ]
    if not rows:
        st.caption("Nobody has acted on this case yet.")
        return
    rows.sort(key=lambda x: x[0]["at"], reverse=True)
    ui.table(
        pl.DataFrame(
            {
                "when": [_when(r["at"]) for r, _ in rows],
                "who": [r["actor"] for r, _ in rows],
                "action": [r["action"] for r, _ in rows],
                "on": [on for _, on in rows],
                "details": [
                    "; ".join(f"{k}: {v}" for k, v in r["payload"].items() if v not in (None, "", {}))
                    for r, _ in rows
                ],
            }
        ),
        max_height=300,
    )


def show(run: q.Run, key: str, state: State | None, info: dict[str, Any], who: Principal) -> None:
    """The case ?sel= names (its key, or one of its findings' keys), in the side panel, as `who` may see it."""
    c = qd.case_detail(run.path, run.run_id, key, who)
    head, close = st.columns([3, 1], vertical_alignment="center")
    if close.button("Close", icon=":material/close:", key="close_detail", width="stretch"):
        del st.query_params["sel"]
        st.rerun()
    if c is None:
        head.markdown("**That case is not in this run.**")
        st.caption("A later run may have closed it, or the link is wrong.")
        return
    workflow_panel.flash()
    findings = qd.case_findings(run.path, run.run_id, key, who)
    root = next(
        (f for f in findings if f["finding_key"] == c.get("root_finding_key")),
        findings[0] if findings else None,
    )
    head.subheader(ui.plain(c.get("title") or c.get("root_check_id")))
    doc = f"{(c.get('money_type') or '').replace('_', ' ')} {c.get('erp_invoice_no') or c.get('money_id') or ''}"
    st.caption(
        f"{ui.plain(c.get('root_check_id'))} · root cause at the {ui.plain(c.get('stage') or '—')} stage · "
        f"case on {ui.plain(doc.strip())} · {len(findings)} finding{'s' if len(findings) != 1 else ''}"
    )
    lifecycle = c.get("history_status") or c.get("status") or "open"
    status = (state or State(key)).effective(lifecycle, info.get("started_at"), ui.today())
    assignee = (state.assignee if state else None) or "nobody yet"
    line = (
        f"Status :{STATUS_COLORS.get(status, 'red')}-badge[{ui.plain(ui.badge(status))}] · "
        f"severity **{ui.plain(c.get('severity') or '—')}** · owner team **{ui.plain(c.get('owner_team') or '—')}**"
        f" · assigned to **{ui.plain(assignee)}**"
    )
    if state and state.reason:
        line += f" · resolved as **{ui.plain(workflow_panel.reason_label(state.reason))}**"
    if state and state.allow_until:
        line += f" · allowlisted until **{state.allow_until.isoformat()}**"
    st.markdown(line)
    masking_ui.caption(who)
    _money(c, run.currency)
    _documents(run, c, findings)
    if root is not None:
        st.markdown("**Why: the root cause**")
        _evidence(root, run)
    if fix := _remediation(c.get("root_check_id")):
        st.markdown(f"**What to do:** {ui.plain(fix)}")
    st.markdown("**Actions on this case**")
    workflow_panel.actions(run, key, workflow_panel.case_workflow(run.ops_url), state, c.get("owner_team"))
    symptoms = [f for f in findings if root is None or f["finding_key"] != root["finding_key"]]
    st.markdown(
        f"**Findings on this money: the root cause, then {len(symptoms)} symptom{'s' if len(symptoms) != 1 else ''}"
        " in flow order**"
    )
    for f in [*([root] if root else []), *symptoms]:
        is_root = root is not None and f["finding_key"] == root["finding_key"]
        amount = (
            "compliance"
            if f.get("impact_kind") == "compliance"
            else f"{ui.money(f.get('impact_rc'), run.currency)} {f.get('impact_kind')}"
        )
        label = (
            f"{'Root cause' if is_root else 'Symptom'} · {f.get('stage')} · {f.get('title') or ''} · {amount}"
        )
        with st.expander(ui.plain(label), expanded=False):
            st.markdown(_finding_line(f, run.currency))
            st.caption(_history(f))
            if not is_root:
                _evidence(f, run)
    st.markdown("**History across runs**")
    st.caption(
        f"first seen {_when(c.get('first_seen_at'))} · last seen {_when(c.get('last_seen_at'))} · "
        f"closed by a run {_when(c.get('resolved_at'))} · reopened {c.get('reopened_count') or 0}× · lifecycle {lifecycle}"
    )
    st.markdown("**Activity**")
    _activity(run, key, findings)
