"""Findings queue for finance: filter, sort by $, export, then work a finding through to resolution."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import polars as pl
import streamlit as st

from app import components as ui
from app import queries as q
from app import workflow_panel
from closedloop.workflow import ACTIVE, STATUSES, overlay

# the queue as it is shown, in screen order
QUEUE_COLUMNS = (
    "status",
    "severity",
    "check_id",
    "title",
    "impact_rc",
    "entity_type",
    "entity_id",
    "client_name",
    "legal_entity_name",
    "owner_team",
    "assignee",
    "age_days",
)

run = q.published()
ui.header("Findings", "Every break with its $ impact, owner and status", run)
if run is None:
    ui.no_run()
    st.stop()
if "results.finding" not in q.tables(run.path):
    ui.empty(
        "This run has no findings table.", "Checks run as part of `closedloop run`; the queue fills in then."
    )
    st.stop()

info = q.run_info(run.path)
as_of = info.get("as_of")
wf = workflow_panel.workflow(run.ops_url)
states = wf.states()
ov = tuple(overlay(states, info.get("started_at"), ui.today()))
opts = q.filter_options(run.path, run.run_id)

# ---- filters (all in the URL) ----
status_url = ui.url_list("status")
ui.seed("f_status", [] if status_url == ["any"] else [s for s in status_url if s in STATUSES] or list(ACTIVE))
ui.seed("f_min", ui.url_one("min"))
ui.seed("f_q", ui.url_one("q"))
ui.seed("f_sort", ui.url_one("sort", "impact") if ui.url_one("sort", "impact") in q.SORTS else "impact")
r1 = st.columns(4)
with r1[0]:
    checks = ui.multiselect("Check", "check", opts["check"])
with r1[1]:
    sev = ui.multiselect("Severity", "severity", [(s, s) for s in ("S1", "S2", "S3", "S4")])
with r1[2]:
    owners = ui.multiselect("Owner team", "owner", opts["owner"])
with r1[3]:
    status = st.multiselect("Status", list(STATUSES), key="f_status", format_func=ui.badge)
r2 = st.columns(4)
with r2[0]:
    clients = ui.multiselect("Client", "client", opts["client"])
with r2[1]:
    entities = ui.multiselect("Legal entity", "entity", opts["entity"])
with r2[2]:
    ages = ui.multiselect("Age (days)", "age", [(k, f"{k} days") for k, *_ in q.AGE_BUCKETS])
with r2[3]:
    min_text = st.text_input("Min $ impact", key="f_min", placeholder="e.g. 10000", max_chars=20)
with st.expander("More filters and sort"):
    r3 = st.columns(4)
    with r3[0]:
        domains = ui.multiselect("Check family", "domain", opts["domain"])
    with r3[1]:
        kinds = ui.multiselect("Impact kind", "kind", opts["kind"])
    with r3[2]:
        practices = ui.multiselect("Practice", "practice", [])
        regions = ui.multiselect("Region", "region", [])
    with r3[3]:
        text = st.text_input("Entity or correlation ID contains", key="f_q", max_chars=200)
        sort = st.selectbox(
            "Sort by", list(q.SORTS), key="f_sort", format_func=lambda s: f"{s} (largest first)"
        )

min_impact = None
if min_text.strip():
    try:
        min_impact = Decimal(min_text.replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        st.warning("Min $ impact must be a number; ignoring it.")
    if min_impact is not None and not (min_impact.is_finite() and abs(min_impact) < Decimal("1e15")):
        st.warning("Min $ impact is out of range; ignoring it.")
        min_impact = None

lists = {
    "check": checks,
    "severity": sev,
    "owner": owners,
    "status": status,
    "client": clients,
    "entity": entities,
    "age": ages,
    "domain": domains,
    "kind": kinds,
    "practice": practices,
    "region": regions,
}
filters = q.Filters(
    lists=tuple((k, tuple(v)) for k, v in lists.items() if v),
    min_impact=min_impact,
    text=text.strip(),
    sort=sort,
)
ui.sync_url(
    {
        **lists,
        "status": status or ["any"],
        "min": min_text.strip(),
        "q": text.strip(),
        "sort": "" if sort == "impact" else sort,
    }
)

# ---- totals that follow the filters ----
totals = q.finding_totals(run, as_of, filters, ov)
t1, t2, t3 = st.columns([1, 1, 2])
t1.metric("Findings", f"{totals['n']:,}", border=True)
t2.metric("$ impact", ui.money(totals["impact"], run.currency), border=True)
with t3:
    # A small table with in-cell bars rather than a chart: the grid's code is already loaded for the queue,
    # while a chart would make the browser load and start a charting library before the page is drawn.
    aging = pl.DataFrame(
        {
            "age": [f"{b[0]} days" for b in totals["buckets"]],
            "findings": [b[1] for b in totals["buckets"]],
            "usd": [float(b[2]) for b in totals["buckets"]],
        }
    )
    ui.table(
        aging,
        key="aging",
        column_config={
            "age": st.column_config.TextColumn("Age"),
            "findings": st.column_config.NumberColumn("Findings", format="localized"),
            "usd": st.column_config.ProgressColumn(
                f"$ impact ({run.currency})",
                format="compact",
                min_value=0.0,
                max_value=max([*aging["usd"].to_list(), 1.0]),
                width="medium",
            ),
        },
    )

rows = q.findings(run, as_of, filters, ov)
if rows.is_empty():
    ui.empty("No findings match these filters.", "Widen the filters, or clear them to see the whole queue.")
else:
    top = st.columns([3, 1])
    top[0].caption(
        f"Showing {rows.height:,} of {totals['n']:,}, largest $ first. Select a row to work on it."
    )
    top[1].download_button(
        "Export CSV",
        data=lambda: q.export_csv(run, as_of, filters, ov),
        file_name=f"findings-{run.run_id}.csv",
        mime="text/csv",
        icon=":material/download:",
        width="stretch",
    )
    # only the columns on screen travel to the browser (the evidence JSON alone was most of the payload)
    shown = rows.select(*QUEUE_COLUMNS).with_columns(ui.badge_column("status"))
    event = ui.table(
        shown,
        key="queue",
        on_select="rerun",
        selection_mode="single-row",
        column_order=QUEUE_COLUMNS,
        column_config={
            "status": st.column_config.TextColumn("Status", width="medium"),
            "severity": st.column_config.TextColumn("Sev", width="small"),
            "check_id": st.column_config.TextColumn("Check", width="small"),
            "title": st.column_config.TextColumn("What broke", width="medium"),
            "impact_rc": st.column_config.NumberColumn(f"$ impact ({run.currency})", format="accounting"),
            "entity_type": "Entity",
            "entity_id": "ID",
            "client_name": "Client",
            "legal_entity_name": "Legal entity",
            "owner_team": "Owner team",
            "assignee": "Assignee",
            "age_days": st.column_config.NumberColumn("Age (d)", format="%d"),
        },
    )
    picked = event.selection.rows if event and event.selection else []
    if picked:
        key = rows["finding_key"][picked[0]]
        if st.query_params.get("sel") != key:
            st.query_params["sel"] = key

sel = ui.url_one("sel")
if sel:
    st.divider()
    workflow_panel.detail(run, sel, wf, states.get(sel), info)
