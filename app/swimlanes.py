"""The trace's swim lanes as plotly JSON written directly: every dated record by system over time.

Building a plotly Figure validates every property through plotly's object tree and deep-copies the template
on each `update_layout`: about 80 ms of each lookup's script run, more than all of its queries. The styled
layout is the same for every flow, so it is built once through plotly (ui.style, the one look of every chart)
and kept; each lookup only writes its points, its x range and the searched record's labels as plain JSON.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from typing import Any

import plotly.graph_objects as go

from app import components as ui
from closedloop.trace import LANES, TraceRecord
from closedloop.trace_lookup import Hit

# Record type → plotly marker symbol, and the same shape as a character every system font has, for the
# chart's key in its caption (a plotly legend of a dozen entries cost about 30 ms of each lookup's render).
SYMBOLS = {
    "opportunity": ("circle", "●"),
    "crm_invoice_status": ("diamond", "◆"),
    "contract": ("square", "■"),
    "sow": ("circle", "●"),
    "amendment": ("triangle-up", "▲"),
    "milestone": ("star", "★"),
    "project": ("square", "■"),
    "billing_schedule": ("triangle-down", "▼"),
    "invoice": ("diamond", "◆"),
    "payment": ("circle", "●"),
    "revenue_schedule": ("cross", "✚"),
    "integration_event": ("x", "✕"),
}
DEFAULT_SYMBOL = ("circle", "●")
FAILED = "#B91C1C"
SEARCHED = "#F59E0B"  # amber: the searched record's ring and label, apart from every lane colour and red
HEIGHT = 300
SIZE = 15


@functools.lru_cache(maxsize=1)
def _layout() -> dict[str, Any]:
    """The lanes' styled layout, built once through plotly (its template expanded, as to_json writes it)."""
    fig = go.Figure(go.Scatter(x=[], y=[], mode="markers"))
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=list(reversed(LANES)),
        range=[-0.6, len(LANES) - 0.4],
        title=None,
        showgrid=True,
        gridcolor="#E2E8F0",
    )
    fig.update_xaxes(title=None, showgrid=False)
    fig.update_layout(showlegend=False)
    return ui.style(fig, HEIGHT).to_plotly_json()["layout"]


def _ts(value: dt.datetime) -> str:
    return value.isoformat()


def figure_json(
    dated: list[TraceRecord],
    failed: list[TraceRecord],
    searched: list[Hit],
    x_range: list[dt.datetime] | None,
) -> str:
    """One scatter trace for every mark (its symbol and colour per point: a trace per record type cost more of
    each lookup's render), the searched record ringed in amber and labelled."""
    wanted = {(h.entity_type, h.entity_id): h.value for h in searched}
    hit = [(r.entity_type, r.entity_id) in wanted for r in dated]
    marker: dict[str, Any] = {
        "size": [SIZE + 9 if h else SIZE for h in hit] if any(hit) else SIZE,
        "color": [FAILED if r in failed else ui.LANE_COLORS[r.lane] for r in dated],
        "line": {
            "color": [SEARCHED if h else "#FFFFFF" for h in hit] if any(hit) else "#FFFFFF",
            "width": [4 if h else 1 for h in hit] if any(hit) else 1,
        },
        "symbol": [SYMBOLS.get(r.entity_type, DEFAULT_SYMBOL)[0] for r in dated],
    }
    trace = {
        "type": "scatter",
        "mode": "markers",
        "x": [_ts(r.ts) for r in dated],
        "y": [r.lane for r in dated],
        "marker": marker,
        "customdata": [
            [
                r.entity_id,
                "<br>".join(f"{k}: {v}" for k, v in list(r.fields.items())[:6]),
                r.entity_type.replace("_", " "),
            ]
            for r in dated
        ],
        "hovertemplate": "<b>%{customdata[0]}</b><br>%{x|%Y-%m-%d %H:%M}<br>%{customdata[1]}"
        "<extra>%{customdata[2]}</extra>",
    }
    layout = dict(_layout())
    layout["xaxis"] = {**copy.deepcopy(layout.get("xaxis", {}))}
    if x_range:
        layout["xaxis"]["range"] = [_ts(x) for x in x_range]
    marks = [r for r, h in zip(dated, hit, strict=True) if h]
    if marks:
        layout["annotations"] = [
            {
                "x": _ts(r.ts),
                "y": r.lane,
                "text": f"searched: {wanted[(r.entity_type, r.entity_id)]}",
                "showarrow": True,
                "arrowhead": 0,
                "ax": 0,
                "ay": -28,
                "bgcolor": SEARCHED,
                "font": {"color": "#0F172A", "size": 12},
                "borderpad": 3,
            }
            for r in marks[:3]
        ]
    return json.dumps({"data": [trace], "layout": layout}, default=str)


def key_caption(dated: list[TraceRecord]) -> str:
    """The chart's key: each shape and the record types drawn with it."""
    shapes: dict[str, list[str]] = {}
    for etype in dict.fromkeys(r.entity_type for r in dated):
        shapes.setdefault(SYMBOLS.get(etype, DEFAULT_SYMBOL)[1], []).append(etype.replace("_", " "))
    return (
        "Colour is the system, the shape the record type: "
        + " · ".join(f"{mark} {', '.join(names)}" for mark, names in shapes.items())
        + ". Red marks an integration event still failing or dead-lettered (one that recovered is not red)."
        " Hover a mark for its fields."
    )
