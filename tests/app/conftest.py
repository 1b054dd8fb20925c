"""App fixtures: a small published warehouse, the app config pointing at it, a fresh Streamlit cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.app import warehouse

APP = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A published run and CLOSEDLOOP_CONFIG pointing at it; returns the config path."""
    cfg = warehouse.write_config(tmp_path)
    warehouse.build(tmp_path / "data")
    monkeypatch.setenv("CLOSEDLOOP_CONFIG", str(cfg))
    st.cache_data.clear()
    st.cache_resource.clear()
    return cfg


@pytest.fixture
def app(site):
    """Open a page by its file name, with optional query parameters: app('findings', check=['Q2C-010'])."""

    def open_page(page: str = "overview", /, **params) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        for k, v in params.items():
            at.query_params[k] = v
        if page != "overview":
            at.switch_page(f"views/{page}.py")
        return at.run()

    return open_page
