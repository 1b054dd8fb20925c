"""Sandbox fixtures: the hand-made firm's exports once per session, retries that never really wait."""

from __future__ import annotations

import functools

import pytest

import collectors.http.client as http_client
from closedloop.demo.exports import render_exports
from closedloop.sandbox import Credentials, PageCaps, Sandbox
from tests.collectors import firm_fixture


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixture-exports")
    render_exports(firm_fixture.build(), root)
    return root


@pytest.fixture(scope="session")
def keypair():
    return Credentials.with_keypair()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """Backoff in milliseconds: the faults fire for real, the suite does not sleep through them."""
    fast = functools.partial(http_client.RetryPolicy, base_seconds=0.001, cap_seconds=0.005)
    monkeypatch.setattr(http_client, "RetryPolicy", fast)


@pytest.fixture
def sandbox(exports):
    """A sandbox over the fixture firm with one-record pages (Salesforce, Ironclad): every call pages."""
    with Sandbox(exports, caps=PageCaps(salesforce=1, ironclad=1)) as sb:
        yield sb
