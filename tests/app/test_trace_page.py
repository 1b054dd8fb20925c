"""The trace page: ?id= opens the flow on a cold load; any input is plain text."""

from __future__ import annotations

import pytest


def text_of(at) -> str:
    return " ".join(
        [m.value for m in at.markdown] + [w.value for w in at.warning] + [c.value for c in at.caption]
    )


@pytest.mark.parametrize(
    "any_id", ["CID-0001", "INV-2026-0001", "EVT-2", "a0X-CRM-1"]
)  # all kinds: test_trace.py
def test_id_in_the_url_opens_the_flow(app, any_id):
    at = app("trace", id=any_id)
    assert not at.exception
    assert "CID\\-0001" in text_of(at) or "CID-0001" in text_of(at)
    assert next(m.value for m in at.metric if m.label == "Systems") == "4 of 4"
    assert any("EVT-2" in e.value for e in at.error)  # the failed integration event is called out


def test_the_flows_findings_link_to_the_queue(app):
    at = app("trace", id="CID-0001")
    listing = next(m.value for m in at.markdown if "[open →](findings?sel=" in m.value)  # not the cases list
    assert listing.count("[open →](findings?sel=") == next(
        int(m.value) for m in at.metric if m.label == "Findings on this flow"
    )
    assert "**Q2C" in listing and "status=any" in listing


def test_a_record_without_a_flow_says_so(app):
    at = app("trace", id="INV-9")
    assert "Q2C-102" in text_of(at)


@pytest.mark.parametrize(
    "junk",
    [
        "x'; DROP TABLE canon.invoice; --",
        "' OR '1'='1",
        "%",
        "CID-000_",
        "Ω≈ç√ 🚀",
        "<b>hi</b>",
        "a" * 10_000,
    ],
)
def test_hostile_input_is_plain_text(app, junk):
    at = app("trace")
    at.text_input(key="trace_id").input(junk).run()
    assert not at.exception
    assert "Nothing in this run has the ID" in text_of(at)
    at.text_input(key="trace_id").input("SOW-2").run()
    assert "CID\\-0002" in text_of(at) or "CID-0002" in text_of(at)


def test_search_box_writes_the_url(app):
    at = app("trace")
    at.text_input(key="trace_id").input("  OPP-2  ").run()
    assert at.query_params["id"] in ("OPP-2", ["OPP-2"])
