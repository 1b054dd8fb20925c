"""Executive overview: is quote-to-cash healthy, where do we leak, and is it getting better?"""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from app import components as ui
from app import queries as q
from app import queries_health as qh
from app.kpi_targets import HEADLINE, KPI_LINKS, LABELS, SLA_MEASURES, TARGETS, meets
from closedloop.workflow import STATUSES

run = q.published()
ui.header("Overview", "Quote-to-cash health, leakage and SLA attainment", run)
if run is None:
    ui.no_run()
    st.stop()
if "results.check_run" not in q.tables(run.path):
    ui.empty(
        "This run has no check results yet.",
        "Checks run as part of `closedloop run`; this page fills in then.",
    )
    st.stop()

info = q.run_info(run.path)
as_of = info.get("as_of")
cov = qh.coverage(run.path, run.run_id)
if not cov.is_empty():
    full = cov.filter(pl.col("status") == "covered").height
    gaps = cov.height - full
    st.caption(
        f"This firm's data covers **{full} of {cov.height}** checks and KPIs"
        + (f"; {gaps} partly or not covered ([what is missing](/data_health))." if gaps else ".")
    )
totals = q.run_totals(run.path)
MONEY_AXIS = "$~s"  # d3-format, as plotly reads it: $40M
MONEY_TIP = "$,.2f"
ALL = {"status": [s for s in STATUSES if s != "closed"]}  # every finding of the run, as the tiles count them


def _tile(col, label: str, column: str, params: dict, fmt, help_text: str, inverse: bool = True) -> None:
    """A metric with its trend over runs, delta vs the previous run, and a link to the findings behind it."""
    series = totals[column].to_list()
    cur = series[-1] if series else 0
    prev = series[-2] if len(series) > 1 else None
    with col.container(border=True):
        delta = None if prev is None else cur - prev
        st.metric(
            label,
            fmt(cur),
            delta=None if delta is None else fmt(delta),
            help=help_text,
            delta_color="inverse" if inverse else "normal",
            chart_data=[float(v or 0) for v in series] if len(series) > 1 else None,
            chart_type="area",
            delta_description="vs previous run",
        )
        ui.link("See the findings behind it →", "findings", {**ALL, **params})


def _money(v) -> str:
    return ui.money(v, run.currency, compact=True)


st.subheader("This run")
c1, c2, c3, c4 = st.columns(4)
_tile(c1, "$ impact of all findings", "impact", {}, _money, "Sum of every finding's $ impact in this run.")
_tile(
    c2,
    "Revenue leakage",
    "leakage",
    {"kind": ["leakage"]},
    _money,
    "Expected revenue that will probably never be billed or collected (leakage-type checks).",
)
_tile(c3, "Findings", "findings", {}, lambda v: f"{int(v or 0):,}", "Failing rows across all checks.")
_tile(
    c4,
    "Checks failing",
    "checks_failing",
    {},
    lambda v: f"{int(v or 0):,}",
    "Checks with at least one finding.",
)

kpi = q.kpis(run.path, tuple(HEADLINE.items())) if "results.kpi" in q.tables(run.path) else pl.DataFrame()
st.subheader("KPIs")
if kpi.is_empty():
    ui.empty("No KPI values in this run.", "KPIs (K01…K21) appear here once the run computes them.")
else:
    ids = kpi["kpi_id"].unique(maintain_order=True).to_list()
    cols = st.columns(min(4, len(ids)))
    for i, kid in enumerate(ids):
        rows = kpi.filter(pl.col("kpi_id") == kid)
        values, unit, name = rows["value"].to_list(), rows["unit"][-1], rows["name"][-1]
        target = TARGETS.get(kid)
        ok = meets(kid, values[-1])
        with cols[i % len(cols)].container(border=True):
            delta = values[-1] - values[-2] if len(values) > 1 else None
            st.metric(
                f"{kid} · {LABELS.get(kid, name)}",
                ui.number(values[-1], unit),
                help=name,
                delta=None if delta is None else ui.number(delta, unit),
                delta_color="inverse" if target and target[0] == "<=" else "normal",
                chart_data=values if len(values) > 1 else None,
                delta_description="vs previous run",
            )
            if target:
                mark = (
                    ":green[:material/check_circle: on target]"
                    if ok
                    else ":red[:material/warning: off target]"
                )
                st.caption(
                    f"Target {target[0].replace('<=', '≤').replace('>=', '≥')} "
                    f"{ui.number(target[1], unit)} · {mark}"
                )
            link = KPI_LINKS.get(kid)
            if link:
                ui.link("Findings behind it →", "findings", {**ALL, **link})

left, right = st.columns(2)
with left:
    st.subheader("Trend over runs")
    if totals.height < 2:
        ui.empty("One run so far.", "The trend appears from the second run on.")
    else:
        long = totals.select(
            pl.col("started_at").alias("run"),
            pl.col("impact").cast(pl.Float64).alias("All $ impact"),
            pl.col("leakage").cast(pl.Float64).alias("Leakage $"),
        ).unpivot(index="run", variable_name="series", value_name="usd")
        fig = px.line(
            long.to_pandas(),
            x="run",
            y="usd",
            color="series",
            markers=True,
            labels={"usd": run.currency, "run": ""},
            color_discrete_sequence=ui.PALETTE,
        )
        fig.update_traces(hovertemplate="%{x|%Y-%m-%d %H:%M}<br>%{y:" + MONEY_TIP + "}")
        fig.update_layout(legend_title_text="", yaxis_tickformat=MONEY_AXIS)
        ui.plot(fig, key="trend_runs")
with right:
    st.subheader("$ impact by month of the break")
    months = q.impact_by_month(run, as_of)
    if months.is_empty():
        ui.empty("No findings in this run.", "Nothing is breaking — or no check ran.")
    else:
        fig = px.bar(
            months.with_columns(pl.col("impact").cast(pl.Float64)).to_pandas(),
            x="month",
            y="impact",
            color="impact_kind",
            custom_data=["findings"],
            labels={"impact": run.currency, "month": "", "impact_kind": ""},
            color_discrete_sequence=ui.PALETTE,
        )
        fig.update_traces(hovertemplate="%{x|%B %Y}<br>%{y:" + MONEY_TIP + "}<br>%{customdata[0]:,} findings")
        fig.update_layout(legend_title_text="", yaxis_tickformat=MONEY_AXIS, xaxis_tickformat="%b %y")
        ui.plot(fig, key="by_month")

st.subheader("Where the money is")
kind = st.segmented_control("Measure", ["Leakage", "All $ impact"], default="Leakage", key="measure")
kind_filter = "leakage" if kind == "Leakage" else None
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
        data = q.impact_by(run, as_of, dim, kind_filter)
        if data.is_empty():
            ui.empty("Nothing to show for this measure.", "No findings of this kind in the run.")
            continue
        url_key = q.DIMENSIONS[dim][2]
        bars = data.with_columns(pl.col("impact").cast(pl.Float64).alias("usd")).reverse()  # largest on top
        fig = px.bar(
            bars.to_pandas(),
            x="usd",
            y="label",
            orientation="h",
            custom_data=["value", "findings"],
            text=[_money(v) for v in bars["impact"]],
            labels={"usd": run.currency, "label": ""},
        )
        fig.update_traces(
            marker_color=ui.PALETTE[0],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>%{text}<br>%{customdata[1]:,} findings<extra></extra>",
        )
        fig.update_layout(xaxis_tickformat=MONEY_AXIS, showlegend=False)  # one series: no legend row
        point = ui.plot(fig, key=f"by_{dim}", height=60 + 34 * bars.height, clickable=True)
        extra = {"kind": [kind_filter]} if kind_filter else {}
        ui.click_go(
            point,
            "findings",
            lambda p, k=url_key, e=extra: (
                {**ALL, **e, k: p["customdata"][0]}
                if (p.get("customdata") or [None])[0] is not None
                else None
            ),
        )
        st.caption("Click a bar to open its findings.")

st.subheader("SLA attainment")
sla = q.kpis(run.path, tuple(SLA_MEASURES)) if "results.kpi" in q.tables(run.path) else pl.DataFrame()
if sla.is_empty():
    ui.empty(
        "No SLA KPIs in this run.",
        "SLA attainment (e.g. K01 share of SOWs with a project within 5 business days) appears when the run "
        "computes it.",
    )
else:
    latest = sla.group_by("kpi_id", "name").agg(pl.all().last()).sort("kpi_id")
    for row in latest.iter_rows(named=True):
        label, goal = SLA_MEASURES[(row["kpi_id"], row["name"])]
        share = float(row["value"] or 0)
        st.progress(
            min(max(share, 0.0), 1.0),
            text=f"{row['kpi_id']} · {label}: **{share * 100:.1f}%** · target {goal * 100:.0f}%",
        )
