"""app/plotly_chart.py: the vendored plotly.js bundle matches the plotly Python package that builds figures.

(That the charts draw, hover, and say so when the bundle cannot load is checked in Chromium: test_browser.py.)
"""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs_version

from app import components as ui
from app import plotly_chart


def test_the_bundle_is_plotly_basic_at_the_version_plotly_python_writes_figures_for():
    head = plotly_chart.BUNDLE.read_text(encoding="utf-8")[:200]
    assert f"plotly.js (basic - minified) v{plotly_chart.VERSION}" in head
    assert plotly_chart.VERSION == get_plotlyjs_version(), (
        f"plotly Python writes figures for plotly.js {get_plotlyjs_version()}; app/static has"
        f" {plotly_chart.VERSION}: refresh it as app/plotly_chart.py says"
    )


def test_a_trace_type_the_bundle_lacks_is_refused_by_name():
    fig = go.Figure([go.Scatter(x=[1], y=[1]), go.Heatmap(z=[[1]])])
    with pytest.raises(ValueError, match=r"chart 'k': plotly.js's basic bundle cannot draw heatmap traces"):
        plotly_chart.draw(fig, key="k", config={})


def test_a_styled_figure_keeps_the_theme_and_widens_margins_for_its_labels():
    fig = ui.style(go.Figure(go.Scatter(x=[1, 2], y=["CRM", "ERP"])), height=200)
    assert fig.layout.height == 200
    assert fig.layout.font.family == ui.FONT
    assert fig.layout.xaxis.automargin is True and fig.layout.yaxis.automargin is True
