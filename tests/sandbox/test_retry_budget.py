"""The retry budget per source: a NetSuite answering 503 to everything fails within its deadline, saying
which source, stream, how many attempts and the last status; Retry-After is honoured inside the budget."""

from __future__ import annotations

import time

import pytest

from closedloop.sandbox import PageCaps, Sandbox, parse_fault
from tests.sandbox.helpers import api_collector, collect, connect

ONLY = {"netsuite": {"currency", "customer", "transaction"}, "ironclad": None, "salesforce": None}


def run(exports, vendor: str, spec: str, **cfg):
    with Sandbox(exports, faults=[parse_fault(spec)], caps=PageCaps(salesforce=1, ironclad=1)) as sb:
        started = time.monotonic()
        res = collect(connect(), api_collector(sb, vendor, **cfg), ONLY[vendor])
        return res, time.monotonic() - started, sb.state.counts


def test_a_netsuite_answering_503_to_everything_fails_within_its_deadline(exports):
    # attempts would allow far more than the deadline: the deadline is what stops it
    res, seconds, counts = run(
        exports,
        "netsuite",
        "server_error@netsuite:every=1",
        retry_max_attempts=10_000,
        retry_deadline_seconds=1.0,
    )
    assert res.status == "failed" and len(res.errors) == len(res.streams) == 3
    # far below what 10,000 attempts would take; slack for a loaded machine (timings belong to the bench)
    assert seconds < 1.0 + 5.0, f"took {seconds:.1f}s for a 1s deadline"
    first = res.errors[0]
    assert first.startswith("source netsuite, stream currency: ")
    assert "retry deadline of 1s (retry_deadline_seconds)" in first
    assert " failed attempts over " in first and first.endswith("last error: HTTP 503")
    # the streams after the deadline fail at once, naming it, without another request each
    for later in res.errors[1:]:
        assert "not sent; the source's retry deadline of 1s" in later and "HTTP 503" in later
    sent = counts[("netsuite", 503)]
    assert sent >= 2  # it did retry before giving up


def test_max_attempts_per_request_is_the_sources_setting(exports):
    res, _, counts = run(
        exports,
        "netsuite",
        "server_error@netsuite:every=1",
        retry_max_attempts=3,
        retry_deadline_seconds=60.0,
    )
    assert counts[("netsuite", 503)] == 3 * 3  # three attempts for each of the three streams
    assert "gave up after 3 attempts (retry_max_attempts); last error: HTTP 503" in res.errors[0]


def test_retry_after_is_honoured_within_the_budget(exports):
    res, seconds, counts = run(
        exports, "ironclad", "rate_limit@ironclad:first=2,seconds=0.3", retry_deadline_seconds=10.0
    )
    assert res.status == "ok", res.errors
    assert counts[("ironclad", 429)] == 2 and seconds >= 0.6  # both waits were served as asked


def test_a_retry_after_past_the_deadline_gives_up_at_once_and_says_rate_limited(exports):
    res, seconds, _ = run(
        exports, "salesforce", "rate_limit@salesforce:every=1,seconds=30", retry_deadline_seconds=5.0
    )
    assert res.status == "failed" and seconds < 20.0  # it did not sleep the 30 s asked for
    first = res.errors[0]
    assert "HTTP 429 rate limited (Retry-After: 30)" in first and "server asked to wait 30s" in first
    assert "concurrent" not in first


@pytest.mark.parametrize("vendor", ["salesforce", "netsuite", "ironclad"])
def test_a_truncated_body_message_names_the_call_once(exports, vendor):
    res, _, _ = run(exports, vendor, f"truncated@{vendor}:every=1")
    first = res.errors[0]
    assert "not valid JSON" in first
    call = first.split(": ")[1]  # "source x, stream y: POST host/path: body is not valid JSON ..."
    assert first.count(call) == 1, first
