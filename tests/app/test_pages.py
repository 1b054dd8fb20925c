"""Every page renders on a small published warehouse, without exceptions."""

from __future__ import annotations

import pytest

PAGES = ("overview", "findings", "trace", "data_health", "checks_catalog")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app, page):
    at = app(page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value
