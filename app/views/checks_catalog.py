"""Checks catalog: what each check verifies, who owns it, its SQL, and how it has been doing."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from plotly.subplots import make_subplots

from app import access_ui, catalog, masking_ui
from app import components as ui
from app import queries as q
from app import queries_cases as qc
from app import queries_health as qh
from checks.loader import IMPACT_KINDS, STAGES

who = access_ui.gate("checks_catalog")
run = q.published()
ui.header("Checks catalog", "Every rule: what it verifies, its owner, severity, SQL and track record", run)
defs = {d.id: d for d in catalog.check_definitions()}
results = q.check_runs(run.path, who) if run and "results.check_run" in q.tables(run.path) else pl.DataFrame()
last = results.group_by("check_id").agg(pl.all().last()) if not results.is_empty() else results
last_by = {r["check_id"]: r for r in last.iter_rows(named=True)} if not last.is_empty() else {}
cov = qh.coverage(run.path, run.run_id) if run else pl.DataFrame()
cov_by = {r["item_id"]: r["status"] for r in cov.iter_rows(named=True)} if not cov.is_empty() else {}
# the severity findings carry (results.finding.severity, as the queue, the trace and the CLI show it)
by_sev = (
    qc.severity_by_check(run.path, run.run_id, who) if run and "results.finding" in q.tables(run.path) else {}
)
ids = sorted(set(defs) | set(last_by))
if not ids:
    ui.empty("No checks found.", "Rule files live in checks/rules/<domain>/<id>_<name>.sql.")
    st.stop()


def _field(cid: str, name: str) -> str:
    d = defs.get(cid)
    return (
        getattr(d, name)
        if d
        else (last_by.get(cid, {}).get({"severity": "base_severity"}.get(name, name)) or "")
    )


table = pl.DataFrame(
    {
        "check_id": ids,
        "title": [_field(c, "title") for c in ids],
        "domain": [_field(c, "domain") for c in ids],
        "kind": [_field(c, "impact_kind") for c in ids],
        "stage": [_field(c, "stage") for c in ids],
        "severity": [_field(c, "severity") for c in ids],
        "finding_severity": [by_sev.get(c, "") for c in ids],
        "owner": [_field(c, "owner") for c in ids],
        "last_status": [last_by.get(c, {}).get("status") or "not run" for c in ids],
        "findings": [last_by.get(c, {}).get("row_count") for c in ids],
        "impact": [
            float(last_by[c]["impact_rc"]) if last_by.get(c, {}).get("impact_rc") is not None else None
            for c in ids
        ],
        "coverage": [cov_by.get(c, "—") for c in ids],
    }
)
masking_ui.caption(who, ["impact_rc"])  # the catalog's $ column is blank where amounts are masked
m = st.columns(4)
m[0].metric("Checks", len(ids), border=True)
m[1].metric("Failing in this run", int((table["last_status"] == "failed").sum()), border=True)
m[2].metric(
    "Suppressed",
    int((table["last_status"] == "suppressed").sum()),
    border=True,
    help="A check whose sources failed freshness or their contract is suppressed, never passed.",
)
m[3].metric("Errors", int((table["last_status"] == "error").sum()), border=True)

ui.seed("cat_domain", ui.url_list("domain"))
domains = st.multiselect(
    "Check family", sorted({d for d in table["domain"].to_list() if d}), key="cat_domain"
)
ui.sync_url({"domain": domains})
shown = table.filter(pl.col("domain").is_in(domains)) if domains else table
event = st.dataframe(
    shown,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="catalog",
    height=360,
    column_config={
        "check_id": "Check",
        "title": st.column_config.TextColumn("Title", width="large"),
        "domain": "Family",
        "kind": st.column_config.TextColumn(
            "Kind of money",
            help="What the amount means; kinds are never added together. "
            + " · ".join(f"{k}: {v}" for k, v in IMPACT_KINDS.items()),
        ),
        "stage": st.column_config.TextColumn(
            "Stage",
            help="Where in the flow the break sits ("
            + " → ".join(STAGES)
            + "): a case's root cause is its finding at the earliest stage.",
        ),
        "severity": st.column_config.TextColumn(
            "Base severity",
            help="The rule's severity. A finding is raised a level when its amount reaches the materiality floor"
            " or it has aged past twice its grace, so its own severity can be higher.",
        ),
        "finding_severity": st.column_config.TextColumn(
            "Findings by severity",
            help="This run's findings of the check at the severity the queue shows them",
        ),
        "owner": "Owner team",
        "findings": st.column_config.NumberColumn("Findings", format="localized"),
        "impact": st.column_config.NumberColumn(
            f"Amount ({run.currency if run else 'USD'})",
            format="accounting",
            help="This run's findings' amount, in the check's kind of money (per check: cases count shared money"
            " once). For compliance it is the amount affected, not money at stake.",
        ),
        "last_status": "Last result",
        "coverage": st.column_config.TextColumn(
            "Coverage", help="Whether this firm's data lets the check judge: covered, partly or not covered."
        ),
    },
)
if event and event.selection and event.selection.rows:
    picked = shown["check_id"][event.selection.rows[0]]
    if st.query_params.get("check") != picked:
        st.query_params["check"] = picked
cid = ui.url_one("check")
if not cid:
    st.caption("Select a check to see its definition, SQL and trend.")
    st.stop()
if cid not in ids:
    ui.empty(f"There is no check “{cid}”.", "Pick one from the table above.")
    st.stop()

st.divider()
d = defs.get(cid)
st.subheader(f"{cid} · {ui.plain(_field(cid, 'title'))}")
info = st.columns([1.5, 3, 2, 2, 1.2])
info[0].metric(
    "Base severity",
    _field(cid, "severity"),
    border=True,
    help=f"This run's findings: {by_sev.get(cid) or 'none'} (raised a level when material or aged)",
)
info[1].metric("Owner", _field(cid, "owner"), border=True)
kind = _field(cid, "impact_kind")
info[2].metric(
    "Kind of money", kind, border=True, help=f"{kind}: {IMPACT_KINDS.get(kind, 'not a known kind')}"
)
info[3].metric(
    "Stage", _field(cid, "stage") or "—", border=True, help="Where in the flow: " + " → ".join(STAGES)
)
info[4].metric("Last result", last_by.get(cid, {}).get("status") or "not run", border=True)
if kind in IMPACT_KINDS:
    st.caption(f"**{kind.capitalize()}**: {IMPACT_KINDS[kind]}.")
if run and last_by.get(cid, {}).get("row_count"):
    ui.link(
        f"Open its {last_by[cid]['row_count']:,} findings →", "findings", {"check": [cid], "status": "any"}
    )
left, right = st.columns([3, 2])
with left:
    if d:
        st.markdown(f"**What it verifies.** {ui.plain(d.description)}")
        st.markdown(f"**How to fix.** {ui.plain(d.remediation)}")
        st.markdown(f"**Systems.** {', '.join(d.systems)}")
        st.code(d.sql, language="sql")
    else:
        ui.empty("No rule file for this check in this version.", "It ran in an earlier version of the rules.")
with right:
    params = d.params if d else json.loads(last_by.get(cid, {}).get("params") or "{}")
    st.markdown("**Parameters**")
    if params:
        st.dataframe(
            pl.DataFrame({"parameter": list(params), "value": [str(v) for v in params.values()]}),
            hide_index=True,
        )
    else:
        st.caption("None.")
    st.markdown("**Trend across runs**")
    trend = results.filter(pl.col("check_id") == cid) if not results.is_empty() else results
    if trend.height < 1:
        ui.empty("Not run yet.")
    else:
        # one bar per run, labelled by its start time (several runs can share an as_of date)
        runs = [f"{r[:4]}-{r[4:6]}-{r[6:8]} {r[9:11]}:{r[11:13]}" for r in trend["run_id"].to_list()]
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        fig.add_trace(
            go.Bar(
                x=runs,
                y=trend["row_count"].to_list(),
                name="findings",
                marker_color=ui.PALETTE[0],
            )
        )
        fig.add_trace(
            go.Scatter(
                x=runs,
                y=[float(v or 0) for v in trend["impact_rc"]],
                name=f"amount ({_field(cid, 'impact_kind') or 'kind unknown'})",
                mode="lines+markers",
                line_color=ui.PALETTE[3],
            ),
            secondary_y=True,
        )
        fig.update_xaxes(type="category")
        top = max(trend["row_count"].to_list() or [1]) or 1
        # findings are whole numbers: a step of 1, 2 or 5 × 10^k, at most five of them (no 0.2 ticks)
        step = next(m * 10**k for k in range(12) for m in (1, 2, 5) if top / (m * 10**k) <= 5)
        fig.update_yaxes(tick0=0, dtick=step, tickformat=",d", rangemode="tozero", secondary_y=False)
        fig.update_yaxes(tickprefix="$", tickformat=".3~s", rangemode="tozero", secondary_y=True)
        ui.plot(fig, key="check_trend", height=260)
