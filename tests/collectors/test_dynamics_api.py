"""Dataverse Web API transport against recorded payloads: token, Prefer on every page, next links, tolerance."""

from __future__ import annotations

import pytest

from collectors.base import StreamAbsent, StreamState
from collectors.dynamics_sales import api_collector
from collectors.http import AuthError, MalformedResponse
from tests.collectors.http_fakes import FakeClock, FakeServer, reply

ORG = "https://contoso.crm.dynamics.com"
TOKEN = "/contoso.onmicrosoft.com/oauth2/v2.0/token"
SETS = "/api/data/v9.2/accounts"
CFG = {"kind": "dynamics_sales", "org_url": ORG, "tenant_id": "contoso.onmicrosoft.com", "client_id": "app-1"}
SECRET = "dyn-secret-value"


def api(server: FakeServer, **cfg):
    collector = api_collector(CFG | cfg, {"client_secret": SECRET})
    from collectors.http import DEFAULT_TIMEOUT, HttpClient

    collector.http = HttpClient(
        auth=collector.auth, timeout=DEFAULT_TIMEOUT, policy=FakeClock().policy(), transport=server.transport
    )
    return collector


def account(collector):
    return next(s for s in collector.streams() if s.name == "account")


def environment(*pages) -> FakeServer:
    server = FakeServer().add("POST", TOKEN, reply(200, "token_response.json", vendor="dynamics"))
    return server.add("GET", SETS, *pages)


def test_token_scope_prefer_and_next_link_followed_as_sent():
    server = environment(
        reply(200, "accounts_page0.json", vendor="dynamics"),
        reply(200, "accounts_page1.json", vendor="dynamics"),
    )
    c = api(server, page_size=1)
    state = StreamState()
    rows = [r for b in c.read(account(c), state) for r in b.records]
    assert [r["accountnumber"] for r in rows] == ["C-1", "C-2"]
    token = server.calls(TOKEN)[0].content.decode()
    assert (
        "grant_type=client_credentials" in token
        and "scope=https%3A%2F%2Fcontoso.crm.dynamics.com%2F.default" in token
    )
    first, second = server.calls(SETS)
    assert "cl_region" in first.url.params["$select"].split(",")
    assert "skiptoken" in str(second.url)  # the next link as the server wrote it, nothing re-added
    for req in (first, second):
        assert req.headers["Prefer"] == (
            'odata.maxpagesize=1,odata.include-annotations="OData.Community.Display.V1.FormattedValue"'
        )
        assert req.headers["Authorization"].startswith("Bearer eyJ0")
    assert state.cursor == "2026-10-02T09:30:00Z"


def test_a_next_link_that_loops_is_refused():
    looping = {"value": [{"accountid": "g1", "accountnumber": "C-1"}], "@odata.nextLink": ORG + SETS}
    c = api(environment(reply(200, looping)))
    with pytest.raises(MalformedResponse, match="repeats an earlier page"):
        list(c.read(account(c), StreamState()))


def test_a_next_link_to_another_host_is_refused():
    away = {
        "value": [{"accountid": "g1"}],
        "@odata.nextLink": "https://evil.example.com/api/data/v9.2/accounts",
    }
    c = api(environment(reply(200, away)))
    with pytest.raises(MalformedResponse, match="another host"):
        list(c.read(account(c), StreamState()))


def test_an_unknown_column_is_dropped_and_a_missing_table_is_absent():
    unknown = {
        "error": {
            "code": "0x80060888",
            "message": "Could not find a property named 'cl_region' on type 'Microsoft.Dynamics.CRM.account'.",
        }
    }
    server = environment(reply(400, unknown), reply(200, "accounts_page1.json", vendor="dynamics"))
    c = api(server)
    batches = list(c.read(account(c), StreamState()))
    assert batches[-1].missing_fields == ("cl_region",)
    retried = server.calls(SETS)[1].url.params["$select"].split(",")
    assert "cl_region" not in retried and "accountnumber" in retried
    gone = {"error": {"code": "0x80060888", "message": "Resource not found for the segment 'accounts'."}}
    c = api(environment(reply(404, gone)))
    with pytest.raises(StreamAbsent, match="Resource not found for the segment 'accounts'"):
        list(c.read(account(c), StreamState()))


def test_a_refused_token_names_the_aadsts_code_and_never_the_secret():
    refused = {
        "error": "invalid_client",
        "error_description": f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is {SECRET}.",
        "error_codes": [7000215],
    }
    server = FakeServer().add("POST", TOKEN, reply(401, refused))
    c = api(server)
    with pytest.raises(AuthError) as exc:
        list(c.read(account(c), StreamState()))
    assert "AADSTS7000215" in str(exc.value) and SECRET not in str(exc.value)


def test_service_protection_429_waits_the_retry_after_it_was_given():
    limited = {"error": {"code": "0x80072322", "message": "Number of requests exceeded the limit of 6000."}}
    server = environment(
        reply(429, limited, headers={"Retry-After": "7"}),
        reply(200, "accounts_page1.json", vendor="dynamics"),
    )
    clock = FakeClock()
    c = api_collector(CFG, {"client_secret": SECRET})
    from collectors.http import DEFAULT_TIMEOUT, HttpClient

    c.http = HttpClient(
        auth=c.auth, timeout=DEFAULT_TIMEOUT, policy=clock.policy(), transport=server.transport
    )
    rows = [r for b in c.read(account(c), StreamState()) for r in b.records]
    assert len(rows) == 1 and clock.sleeps == [7.0]
