"""The background prewarm fills exactly the caches each page reads with its default widgets."""

from __future__ import annotations

import pytest

from app import access_ui, prewarm, queries, queries_health


@pytest.mark.parametrize("page", ["overview", "findings", "data_health", "checks_catalog"])
def test_a_page_finds_its_default_view_prewarmed(app, monkeypatch, page):
    prewarm.warm(queries.published(), access_ui.principal())

    def no_warehouse(*args, **kwargs):
        raise AssertionError(f"{page} queried the warehouse after the prewarm: {args[1][:80]}")

    for module in (queries, queries_health):
        monkeypatch.setattr(module, "_pl", no_warehouse)
        monkeypatch.setattr(module, "_rows", no_warehouse)
    at = app(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value
