"""Shared fixtures: every test gets its own data directory and never reads the developer's config."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch, tmp_path):
    monkeypatch.delenv("CLOSEDLOOP_CONFIG", raising=False)
    for key in list(os.environ):
        if key.startswith("CLOSEDLOOP_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
