"""Polling an asynchronous job (Salesforce Bulk API 2.0 query jobs) with backoff, within a time limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collectors.http.client import HttpClient
from collectors.http.errors import RetriesExhausted


def poll_json(
    client: HttpClient,
    url: str,
    *,
    finished: Callable[[Any], bool],
    first_seconds: float = 1.0,
    cap_seconds: float = 30.0,
    timeout_seconds: float = 3600.0,
    what: str = "job",
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> Any:
    """GET url until finished(doc) says so; waits double from first_seconds up to cap_seconds between polls.

    Each poll is an ordinary call (retried on 429/5xx, one token refresh on 401); a job still running after
    timeout_seconds raises RetriesExhausted naming the job and its last state. Sleep and clock default to
    the client's retry policy, so tests that speed retries up speed polling up too.
    """
    sleep = sleep or client.policy.sleep
    clock = clock or client.policy.clock
    started, wait = clock(), max(0.0, first_seconds)
    while True:
        doc = client.request_json("GET", url)
        if finished(doc):
            return doc
        if clock() - started + wait > timeout_seconds:
            state = doc.get("state") if isinstance(doc, dict) else None
            raise RetriesExhausted(
                f"{what}: not finished after {clock() - started:.0f}s (timeout {timeout_seconds:g}s);"
                f" last state {state!r}"
            )
        sleep(wait)
        wait = min(cap_seconds, max(wait * 2, 0.001))
