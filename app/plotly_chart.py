"""Plotly figures drawn by plotly.js's basic bundle (scatter, bar and pie; 1.2 MB), not st.plotly_chart's.

st.plotly_chart loads Streamlit's build of the whole of plotly.js (4.7 MB: maps, 3-D, WebGL and some
forty trace types). Starting it held the browser's main thread for 0.6-0.7 s on this 2-core machine,
the largest single cost of a cold trace link's first render. closedloop's charts (the trace's swim
lanes, the runs timeline, a check's trend) use scatter and bar traces only, which the basic bundle has.

The bundle is plotly's own release, at the plotly.js version the installed plotly Python package was built
for, so figures serialize the same (tests/app/test_plotly_chart.py fails when they part). To refresh it:
`npm pack plotly.js-basic-dist-min@<version>`, copy the tarball's plotly-basic.min.js to app/static as
plotly-basic-<version>.min.js and set VERSION. It is served from app/static (Streamlit's static serving,
.streamlit/config.toml) and loaded once per browser tab; the chart is a components.v2 element in the
page's own DOM, not an iframe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

VERSION = "4.1.1"
BUNDLE = Path(__file__).parent / "static" / f"plotly-basic-{VERSION}.min.js"
TRACE_TYPES = frozenset({"scatter", "bar", "pie"})  # what the basic bundle draws
URL = f"./app/static/{BUNDLE.name}"  # relative to the app's base URL, as Streamlit's own chunks are

# Starts loading the bundle unless this tab has it or is loading it (one script element, found by its
# attribute) and gives that element, or null once plotly.js has run. app/preload.py starts it early too.
LOAD_JS = (
    "(()=>{let s=document.querySelector('script[data-plotly-basic]');"
    f"if(!s&&!window.Plotly){{s=document.createElement('script');s.src=new URL('{URL}',document.baseURI).href;"
    "s.dataset.plotlyBasic='';s.onerror=()=>s.remove();document.head.append(s)}return s})()"
)
_JS = """
function plotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  const s = __LOAD__;
  return new Promise((resolve, reject) => {
    s.addEventListener("load", () => resolve(window.Plotly));
    s.addEventListener("error", () => reject(new Error("plotly.js did not load from " + s.src)));
  });
}
export default function ({ parentElement, data, setTriggerValue }) {
  let div = parentElement.querySelector(":scope > .cl-plot");
  if (!div) {
    div = document.createElement("div");
    div.className = "cl-plot";
    parentElement.appendChild(div);
  }
  const fig = JSON.parse(data.figure);
  div.style.height = (fig.layout.height || 320) + "px";
  div.classList.toggle("cl-clickable", data.clickable);
  div.clickTo = data.clickable ? setTriggerValue : null; // the latest mount's, read at click time
  let live = true;
  plotly()
    .then((Plotly) => live && Plotly.react(div, fig.data, fig.layout, data.config))
    .then(() => {
      if (!live || div.clickBound) return;
      div.clickBound = true;
      div.on("plotly_click", (ev) => {
        const p = ev.points && ev.points[0];
        if (p && div.clickTo) div.clickTo("click", { x: p.x, y: p.y, customdata: p.customdata ?? null });
      });
    })
    .catch((err) => { div.textContent = "The chart could not be drawn: " + err.message; });
  return () => { live = false; };
}
""".replace("__LOAD__", LOAD_JS)
# plotly's drag layer draws a crosshair over the plot; a chart whose marks open something shows a hand
_CSS = ".cl-clickable .nsewdrag { cursor: pointer !important; }"

_component = st.components.v2.component("closedloop.plotly", js=_JS, css=_CSS, isolate_styles=False)


def _no_callback() -> None:
    """Clicks are read from the component's result on the rerun they trigger; nothing to do on change."""


def to_json(fig: go.Figure, key: str) -> str:
    """A finished figure as the JSON the component draws; it may be built once and cached (app/figures.py)."""
    other = sorted({trace.type for trace in fig.data} - TRACE_TYPES)
    if other:
        raise ValueError(
            f"chart {key!r}: plotly.js's basic bundle cannot draw {', '.join(other)} traces"
            f" (it has {', '.join(sorted(TRACE_TYPES))})"
        )
    return fig.to_json()


def draw(fig: go.Figure, *, key: str, config: dict[str, Any], clickable: bool = False) -> dict | None:
    """Draw a finished figure (sized by its layout.height, full width) under a stable key.

    With clickable, a click on a mark reruns the page and this returns the mark's point on that run
    ({"x", "y", "customdata"}); otherwise, and on every other run, None.
    """
    return draw_json(to_json(fig, key), key=key, config=config, clickable=clickable)


def draw_json(figure: str, *, key: str, config: dict[str, Any], clickable: bool = False) -> dict | None:
    """draw() of a figure already serialized by to_json."""
    data = {"figure": figure, "config": {**config, "responsive": True}, "clickable": clickable}
    result = _component(key=key, data=data, on_click_change=_no_callback)
    return getattr(result, "click", None) if clickable else None
