"""The overview's charts, built once per run file and view and shared by every session that draws them.

Building a plotly figure (plotly express, its validators, the frame's conversion to pandas) cost more of the
overview's script run than all its queries together once those were cached: at 50 sessions every session
rebuilt the same three figures from the same cached rows. Each function here returns the styled figure as
JSON (app/plotly_chart.to_json), cached like the queries it is drawn from (app/queries.py): keyed by the run
file and the person's view (roles, scope, masking), so a figure never carries another view's rows.
"""

from __future__ import annotations

import datetime as dt

import plotly.express as px
import polars as pl
import streamlit as st

from app import components as ui
from app import overview_parts as parts
from app import plotly_chart
from app import queries as q
from app import queries_overview as qo
from closedloop.access import Principal

TTL, VIEW = q.TTL, q.VIEW
MONEY_AXIS = "$~s"  # d3-format, as plotly reads it: $40M
MONEY_TIP = "$,.2f"


def _json(fig, key: str, height: int = 320) -> str:
    return plotly_chart.to_json(ui.style(fig, height), key)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def kind_trend(path: str, currency: str, who: Principal) -> str:
    """Money per kind by business date, one line per kind (never stacked)."""
    trend = qo.kind_trend(path, who)
    money_trend = trend.filter(pl.col("kind").is_in(qo.MONEY_KINDS))
    fig = px.line(
        money_trend.with_columns(pl.col("amount").cast(pl.Float64)).to_pandas(),
        x="as_of",
        y="amount",
        color="kind",
        markers=True,
        labels={"amount": currency, "as_of": "", "kind": ""},
        category_orders={"kind": list(qo.MONEY_KINDS)},
        color_discrete_map=parts.KIND_COLORS,
    )
    fig.update_traces(hovertemplate="%{x|%Y-%m-%d}<br>%{y:" + MONEY_TIP + "}")
    fig.update_layout(legend_title_text="", yaxis_tickformat=MONEY_AXIS, xaxis_tickformat="%b %d")
    return _json(fig, "trend_dates")


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def money_by_month(path: str, run_id: str, as_of: dt.date, currency: str, who: Principal) -> str:
    """Money per kind by the month of the break, kinds side by side."""
    months = qo.money_by_month(path, run_id, as_of, who)
    fig = px.bar(
        months.with_columns(pl.col("amount").cast(pl.Float64)).to_pandas(),
        x="month",
        y="amount",
        color="kind",
        barmode="group",  # side by side: a stack would read as a sum of kinds
        custom_data=["cases"],
        labels={"amount": currency, "month": "", "kind": ""},
        category_orders={"kind": list(qo.MONEY_KINDS)},
        color_discrete_map=parts.KIND_COLORS,
    )
    fig.update_traces(hovertemplate="%{x|%B %Y}<br>%{y:" + MONEY_TIP + "}<br>%{customdata[0]:,} cases")
    fig.update_layout(legend_title_text="", yaxis_tickformat=MONEY_AXIS, xaxis_tickformat="%b %y")
    return _json(fig, "by_month")


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def money_by(path: str, run_id: str, dim: str, kind: str, currency: str, who: Principal) -> str:
    """One kind's money by a dimension, largest bar on top; a bar's customdata is its queue filter value."""
    data = qo.money_by(path, run_id, dim, kind, who)
    bars = data.with_columns(pl.col("amount").cast(pl.Float64).alias("usd")).reverse()  # largest on top
    fig = px.bar(
        bars.to_pandas(),
        x="usd",
        y="label",
        orientation="h",
        custom_data=["value", "cases"],
        text=[parts.money(v, currency) for v in bars["amount"]],
        labels={"usd": currency, "label": ""},
    )
    fig.update_traces(
        marker_color=parts.KIND_COLORS[kind],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}<br>%{text}<br>%{customdata[1]:,} cases<extra></extra>",
    )
    fig.update_layout(xaxis_tickformat=MONEY_AXIS, showlegend=False)  # one series: no legend row
    return _json(fig, f"by_{dim}", height=60 + 34 * bars.height)
