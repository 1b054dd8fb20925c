"""Test support for the HTTP collectors: a scripted MockTransport server, a fake clock, fixture loading."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from collectors.http import RetryPolicy

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = dt.datetime(2026, 10, 31, 12, 0, 0, tzinfo=dt.UTC)


def load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / name).read_text(encoding="utf-8"))


def reply(
    status: int, body: Any = None, *, vendor: str | None = None, headers: dict | None = None
) -> httpx.Response:
    """A response with a JSON body, a fixture (vendor + file name) or raw bytes/text."""
    if vendor is not None:
        body = load(vendor, body)
    if isinstance(body, (bytes, str)):
        content = body.encode() if isinstance(body, str) else body
        return httpx.Response(status, content=content, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


class FakeClock:
    """Time that only moves when the code under test sleeps: retries cost nothing in the suite."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def clock(self) -> float:
        return self.t

    def policy(self, **kw: Any) -> RetryPolicy:
        defaults = dict(
            sleep=self.sleep,
            clock=self.clock,
            now=lambda: NOW + dt.timedelta(seconds=self.t),
            rand=lambda: 0.5,
        )
        return RetryPolicy(**(defaults | kw))


Item = httpx.Response | Exception | Callable[[httpx.Request], "httpx.Response"]


class FakeServer:
    """Routes (method, path) to scripted replies, popped in order (the last one repeats); records requests."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Item]] = {}
        self.requests: list[httpx.Request] = []

    def add(self, method: str, path: str, *items: Item) -> FakeServer:
        self.routes.setdefault((method, path), []).extend(items)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, text=f"no route for {request.method} {request.url.path}")
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        if not isinstance(item, httpx.Response):
            item = item(request)
        # a fresh copy each time: a repeated reply must not share state with the one already sent
        return httpx.Response(item.status_code, headers=item.headers, content=item.content)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def calls(self, path: str | None = None) -> list[httpx.Request]:
        return [r for r in self.requests if path is None or r.url.path == path]
