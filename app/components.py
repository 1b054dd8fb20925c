"""Small UI pieces shared by the pages: money, badges, empty states, URL-backed filters, chart styling."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from app import plotly_chart, queries

SEVERITY_COLORS = {"S1": "#B91C1C", "S2": "#EA580C", "S3": "#CA8A04", "S4": "#64748B"}
# Symbols every system font has (headless browsers and locked-down desktops often lack emoji fonts).
STATUS_ICONS = {
    "open": "●",
    "reopened": "↻",
    "assigned": "→",
    "acknowledged": "◉",
    "resolved": "✓",
    "allowlisted": "◇",
    "closed": "✔",
}
LANE_COLORS = {"CRM": "#2563EB", "CLM": "#7C3AED", "ERP": "#0F766E", "Middleware": "#64748B"}
# The app theme's text colour and font (.streamlit/config.toml), for charts drawn outside Streamlit's elements.
TEXT = "#0F172A"
FONT = '"Source Sans", sans-serif'
PALETTE = ["#0F766E", "#2563EB", "#7C3AED", "#EA580C", "#CA8A04", "#DB2777", "#64748B", "#059669"]
PAGES = {
    "overview": "views/overview.py",
    "findings": "views/findings.py",
    "trace": "views/trace.py",
    "health": "views/data_health.py",
    "catalog": "views/checks_catalog.py",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: Any) -> str:
    """Any value as literal text inside Markdown: people's input never becomes formatting or links."""
    return _MD_SPECIAL.sub(r"\\\1", "" if text is None else str(text))


def md_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A few rows as a Markdown table, every cell literal text: for a handful of rows it reads as well as a data
    grid and costs the browser far less to draw (a grid mounts a canvas even inside a closed expander)."""

    def cell(value: Any) -> str:
        return plain("" if value is None else str(value).replace("\r", " ").replace("\n", " "))

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def code(text: Any) -> str:
    """Inline code for an ID; backticks inside cannot close the span."""
    return "`` " + ("" if text is None else str(text)).replace("`", "'") + " ``"


def money(value: Any, currency: str = "USD", compact: bool = False) -> str:
    """Decimal money for people: $1,234,567.89 or $1.2M; never via float for the exact form."""
    if value is None:
        return "—"
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    sign = "-" if d < 0 else ""
    d = abs(d)
    symbol = "$" if currency == "USD" else f"{currency} "
    if compact:
        for cut, suffix in ((Decimal(10**9), "B"), (Decimal(10**6), "M"), (Decimal(10**3), "K")):
            if d >= cut:
                q = (d / cut).quantize(Decimal("0.1"), ROUND_HALF_UP)
                return f"{sign}{symbol}{q}{suffix}"
    return f"{sign}{symbol}{d.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


def number(value: Any, unit: str | None = None) -> str:
    """A KPI value in its unit."""
    if value is None:
        return "—"
    u = (unit or "").lower()
    if u in ("%", "pct", "percent", "ratio", "share"):
        v = float(value)
        return f"{v * 100:.1f}%" if abs(v) <= 1.0 else f"{v:.1f}%"
    if u in ("business_days", "bd"):  # units spelled out: people read "business days", not "bd"
        return f"{float(value):,.1f} business days"
    if u in ("usd", "$", "money"):
        return money(value, compact=True)
    v = float(value)
    text = f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:,.1f}"
    return f"{text} {unit}" if unit and u not in ("count", "n") else text


def header(title: str, caption: str, run: queries.Run | None) -> None:
    """Page title with the run it shows, so every screenshot says what data it is."""
    st.title(title)
    if run is None:
        st.caption(caption)
        return
    info = queries.run_info(run.path)
    as_of = info.get("as_of")
    st.caption(f"{caption} · run `{run.run_id}` · as of {as_of or '—'}")


def no_run() -> None:
    """The empty state before the first published run."""
    with st.container(border=True):
        st.subheader("No published run yet")
        st.markdown(
            "closedloop shows the last **complete** run of your sources. Nothing has been published here yet.\n\n"
            "- Try it with the demo firm: `closedloop demo`\n"
            "- Or collect your own sources: `closedloop run` (configure them in `closedloop.toml`)\n\n"
            "This page refreshes itself when a run is published."
        )


def empty(message: str, hint: str = "") -> None:
    """A friendly empty state inside a bordered box."""
    with st.container(border=True):
        st.markdown(f"**{message}**")
        if hint:
            st.caption(hint)


def badge(status: str) -> str:
    """Status with its icon."""
    return f"{STATUS_ICONS.get(status, '•')} {status}"


def badge_column(col: str) -> pl.Expr:
    """badge() over a column, in polars (a Python call per row is slow on a long queue)."""
    icon = pl.col(col).replace_strict(STATUS_ICONS, default="•", return_dtype=pl.String)
    return pl.concat_str(icon, pl.col(col), separator=" ")


# No mode bar (plotly's toolbar of zoom, pan and download buttons): each chart draws less on first paint,
# and drag-to-zoom with double-click to reset still work without it.
PLOTLY_CONFIG: dict[str, Any] = {"displayModeBar": False}


def style(fig: go.Figure, height: int = 320) -> go.Figure:
    """One look for every chart: compact margins, the theme's font, horizontal legend."""
    legend_row = 32 if fig.layout.showlegend is not False else 8  # room above the plot for the legend
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT, "color": TEXT, "size": 13},
        height=height,
        margin={"l": 8, "r": 8, "t": legend_row, "b": 8},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        colorway=PALETTE,
        hoverlabel={"font_size": 12},
    )
    fig.update_xaxes(automargin=True)  # tick labels widen the margin rather than being cut at the edge
    fig.update_yaxes(automargin=True)
    return fig


def plot(fig: go.Figure, *, key: str, height: int = 320, clickable: bool = False) -> dict | None:
    """Draw a styled plotly figure with plotly.js's basic bundle (app/plotly_chart.py).

    With clickable, returns the clicked mark's point on the rerun its click triggers (else None)."""
    return plotly_chart.draw(style(fig, height), key=key, config=PLOTLY_CONFIG, clickable=clickable)


def plot_json(figure: str, *, key: str, clickable: bool = False) -> dict | None:
    """ui.plot of a figure built, styled and serialized once per run and view (app/figures.py)."""
    return plotly_chart.draw_json(figure, key=key, config=PLOTLY_CONFIG, clickable=clickable)


# ---- filters in the URL -------------------------------------------------------------------------


def url_list(name: str) -> list[str]:
    """A repeated query parameter, as plain strings (bounded, to keep hostile URLs harmless)."""
    return [v[:200] for v in st.query_params.get_all(name)][:200]


def url_one(name: str, default: str = "") -> str:
    """A single query parameter as plain text (at most 200 characters)."""
    value = st.query_params.get(name)
    return default if value is None else str(value)[:200]


def seed(key: str, value: Any) -> None:
    """Put a URL value into a widget's state once, on the first run of the page."""
    if key not in st.session_state:
        st.session_state[key] = value


def sync_url(values: dict[str, Any]) -> None:
    """Write the page's current filter values back to the URL (empty ones are dropped)."""
    for k, v in values.items():
        empty_value = v in (None, "", [], ())
        if empty_value:
            if k in st.query_params:
                del st.query_params[k]
        elif isinstance(v, list | tuple):
            if st.query_params.get_all(k) != [str(x) for x in v]:
                st.query_params[k] = [str(x) for x in v]
        elif st.query_params.get(k) != str(v):
            st.query_params[k] = str(v)


def multiselect(
    label: str, key: str, options: Sequence[tuple[str, str]], default: Sequence[str] = ()
) -> list[str]:
    """A URL-backed multiselect over (value, label) pairs; unknown URL values are kept, shown as-is."""
    seed(f"f_{key}", [v for v in (url_list(key) or list(default))])
    labels = dict(options)
    values = list(labels) + [v for v in st.session_state[f"f_{key}"] if v not in labels]
    return st.multiselect(label, values, key=f"f_{key}", format_func=lambda v: labels.get(v, v))


def link(label: str, page: str, params: dict[str, Any] | None = None, icon: str | None = None) -> None:
    """A link to another page carrying query parameters (every number leads to what is behind it)."""
    qp = {k: v for k, v in (params or {}).items() if v not in (None, "", [], ())}
    st.page_link(PAGES[page], label=label, icon=icon, query_params=qp or None)


def click_go(
    point: dict | None, page: str, to_params: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> None:
    """Follow a click on a chart's mark (ui.plot's result) to the page behind it."""
    params = to_params(point) if point else None
    if params:
        st.switch_page(PAGES[page], query_params=params)


def today() -> dt.date:
    """Today in UTC (allowlist expiry and aging compare to it)."""
    return dt.datetime.now(dt.UTC).date()


def table(df: Any, *, max_height: int = 420, column_config: dict | None = None, **kwargs: Any) -> Any:
    """st.dataframe sized to its rows, with times as 'YYYY-MM-DD HH:mm' and money as accounting numbers."""
    import polars as pl

    config: dict[str, Any] = {}
    if isinstance(df, pl.DataFrame):
        for name, dtype in df.schema.items():
            if isinstance(dtype, pl.Datetime):
                config[name] = st.column_config.DatetimeColumn(name, format="YYYY-MM-DD HH:mm")
            elif isinstance(dtype, pl.Decimal):
                config[name] = st.column_config.NumberColumn(name, format="accounting")
    config.update(column_config or {})
    rows = df.height if hasattr(df, "height") else len(df)
    kwargs.setdefault("hide_index", True)
    return st.dataframe(df, height=min(max_height, 35 * (rows + 1) + 3), column_config=config, **kwargs)
