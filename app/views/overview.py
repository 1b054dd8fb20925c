"""Executive overview: is quote-to-cash healthy, where do we leak, what to fix first, and is it getting better?

Money comes from cases (each break counted once) and is shown per kind — leakage, exposure, cash — with
compliance as a count; kinds are never added together on this page.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import access_ui, figures, masking_ui, scheduler_panels, trace_flow
from app import components as ui
from app import overview_parts as parts
from app import queries as q
from app import queries_health as qh
from app import queries_overview as qo
from app.kpi_targets import HEADLINE, KPI_LINKS, LABELS, SLA_MEASURES, TARGETS, meets
from closedloop.access import MASKED

who = access_ui.gate("overview")
run = q.published()
ui.header("Overview", "Quote-to-cash health: money at stake by kind, what to fix first, and the trend", run)
if run is None:
    ui.no_run()
    st.stop()
if "results.cases" not in q.tables(run.path):
    ui.empty(
        "This run has no cases yet.",
        "Checks group their findings into cases as part of `closedloop run`; this page fills in then.",
    )
    st.stop()

info = q.run_info(run.path)
as_of = info.get("as_of")
cov = qh.coverage(run.path, run.run_id)
if not cov.is_empty():
    full = cov.filter(pl.col("status") == "covered").height
    gaps = cov.height - full
    missing = " ([what is missing](/data_health))" if who.can_see("data_health") else ""
    st.caption(
        f"This firm's data covers **{full} of {cov.height}** checks and KPIs"
        + (f"; {gaps} partly or not covered{missing}." if gaps else ".")
    )
trace_flow.broken_flows_note(run, who, link=True)  # still-failing and dead-lettered flows (issue 19)
if who.can_see("data_health"):  # the scheduler's last outcome, for the people who look after the runs
    line = scheduler_panels.scheduler_line(qh.scheduler_outcome(run.ops_url))
    if line:
        st.caption(line + " ([data health](/data_health))")
st.subheader("Money at stake, by kind")
st.caption(
    "Each break is counted once, in its own kind; the kinds measure different things and are never added up."
)
queue = who.can_see("findings")  # links lead only to pages the person's role opens
parts.kind_tiles(run, as_of, who)

st.subheader("Fix first")
if who.detail and queue:
    st.caption("The five cases with the most revenue leakage. Each opens on its evidence.")
    parts.fix_first(run, as_of, who)
else:  # executives see totals, trends and KPIs; the cases behind them are for the roles that work them
    st.info(
        "Totals only for your role: the figures above count every case, and the cases themselves are listed "
        "for finance.",
        icon=":material/lock:",
    )

if (
    who.detail
):  # what closed is a list of cases: for the roles that see cases, not an empty heading for the rest
    st.subheader("Since the last run")
    parts.since_last_run(run, as_of, info.get("started_at"), who)

kpi = (
    qo.kpi_by_date(run.path, tuple(HEADLINE.items()), who)
    if "results.kpi" in q.tables(run.path)
    else pl.DataFrame()
)
st.subheader("Key measures")
if kpi.is_empty() and who.scope.limited:
    st.caption(
        f"Key measures are computed for the whole firm only; your view is limited to {ui.plain(who.scope.describe())},"
        " so they are not shown."
    )
elif kpi.is_empty():
    ui.empty("No KPI values in this run.", "Key measures appear here once the run computes them.")
else:
    ids = kpi["kpi_id"].unique(maintain_order=True).to_list()
    cols = st.columns(min(3, len(ids)))  # three across: "3.0 business days" fits without an ellipsis
    for i, kid in enumerate(ids):
        rows = kpi.filter(pl.col("kpi_id") == kid)
        values, unit, name = rows["value"].to_list(), rows["unit"][-1], rows["name"][-1]
        target = TARGETS.get(kid)
        lower_better = bool(target and target[0] == "<=")
        with cols[i % len(cols)].container(border=True):
            if values[-1] is None:  # a money measure masked for this role
                st.metric(LABELS.get(kid, name.replace("_", " ")), MASKED, help="Masked for your role")
                st.caption(kid)
                continue
            change = values[-1] - values[-2] if len(values) > 1 else None
            st.metric(
                LABELS.get(kid, name.replace("_", " ")),
                ui.number(values[-1], unit),
                help=f"{kid}: {name.replace('_', ' ')}",
                chart_data=values if len(values) > 1 else None,
                delta_description=f"vs {rows['as_of'][-2]}" if len(values) > 1 else None,
                **parts.delta_args(change, lambda v, u=unit: ui.number(v, u), lower_is_better=lower_better),
            )
            note = kid
            if target:
                ok = meets(kid, values[-1])
                op = target[0].replace("<=", "≤").replace(">=", "≥")
                note += f" · target {op} {ui.number(target[1], unit)} · " + (
                    "on target" if ok else "off target"
                )
            st.caption(note)
            link = KPI_LINKS.get(kid)
            if link and queue:
                ui.link("The cases behind it →", "findings", {**parts.ALL, **link})

left, right = st.columns(2)
with left:
    st.subheader("Trend by business date")
    trend = qo.kind_trend(run.path, who)
    money_trend = trend.filter(pl.col("kind").is_in(qo.MONEY_KINDS)) if not trend.is_empty() else trend
    if who.masks("amounts") or who.scope.limited:
        st.caption(
            f"{MASKED} Not shown: amounts are masked for your role, or the trend is kept for the whole firm only."
        )
    elif money_trend.is_empty() or money_trend["as_of"].n_unique() < 2:
        ui.empty("One business date so far.", "The trend appears once a run has a later business date.")
    else:
        ui.plot_json(figures.kind_trend(run.path, run.currency, who), key="trend_dates")
        st.caption("Each line is one kind of money on its own; lines are not stacked or added.")
with right:
    st.subheader("Money by month of the break")
    months = qo.money_by_month(run.path, run.run_id, as_of, who) if as_of else pl.DataFrame()
    if who.masks("amounts"):
        masking_ui.caption(who, ["amount"])
    elif months.is_empty():
        ui.empty("No money at stake in this run.", "Nothing is breaking — or no check ran.")
    else:
        ui.plot_json(figures.money_by_month(run.path, run.run_id, as_of, run.currency, who), key="by_month")
        st.caption(
            "Breaks of the last twelve months by kind, side by side; older ones are in the queue (by age)."
        )

st.subheader("Where the money is")
KIND_NAMES = {"Leakage": "leakage", "Exposure": "exposure", "Cash delayed": "cash"}
picked = st.segmented_control("Kind of money", list(KIND_NAMES), default="Leakage", key="measure")
kind = KIND_NAMES.get(picked or "Leakage", "leakage")
# Only the open tab is built and sent (one chart on first paint, not five); a tab click reruns for its chart.
WHERE = {
    "Check family": "domain",
    "Legal entity": "legal_entity",
    "Practice": "practice",
    "Region": "region",
    "Client": "client",
}
tabs = st.tabs(list(WHERE), key="where", on_change="rerun")
for tab, dim in zip(tabs, WHERE.values(), strict=True):
    if not tab.open:
        continue
    with tab:
        data = qo.money_by(run.path, run.run_id, dim, kind, who)
        if who.masks("amounts"):
            masking_ui.caption(who, ["amount"])
            continue
        if data.is_empty():
            ui.empty("Nothing to show for this kind.", "No case of this kind in the run.")
            continue
        url_key = qo.DIMENSIONS[dim][2]
        figure = figures.money_by(run.path, run.run_id, dim, kind, run.currency, who)
        point = ui.plot_json(figure, key=f"by_{dim}", clickable=queue)
        if not queue:
            continue
        ui.click_go(
            point,
            "findings",
            lambda p, k=url_key: (
                {**parts.ALL, "kind": [kind], k: p["customdata"][0]}
                if (p.get("customdata") or [None])[0] is not None
                else None
            ),
        )
        st.caption("Click a bar to open its cases.")

st.subheader("SLA attainment")
sla = q.kpis(run.path, tuple(SLA_MEASURES), who) if "results.kpi" in q.tables(run.path) else pl.DataFrame()
if sla.is_empty() and who.scope.limited:
    st.caption("SLA attainment is computed for the whole firm only, so it is not shown for your scope.")
elif sla.is_empty():
    ui.empty(
        "No SLA measures in this run.",
        "SLA attainment (e.g. the share of SOWs with a project within 5 business days) appears when the run "
        "computes it.",
    )
else:
    latest = sla.group_by("kpi_id", "name").agg(pl.all().last()).sort("kpi_id")
    for row in latest.iter_rows(named=True):
        label, goal = SLA_MEASURES[(row["kpi_id"], row["name"])]
        share = float(row["value"] or 0)
        st.progress(
            min(max(share, 0.0), 1.0),
            text=f"{label}: **{share * 100:.1f}%** · target {goal * 100:.0f}% :small[{row['kpi_id']}]",
        )
