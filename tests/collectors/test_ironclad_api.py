"""Ironclad transport: metadata first, page/pageSize records per type, workflows by explicit status."""

from __future__ import annotations

import pytest

from collectors.base import CollectorError, Stream, StreamState
from collectors.http import HttpError, MalformedResponse
from collectors.ironclad import streams as ic_streams
from collectors.ironclad.api import IroncladAPI, parse_list_page
from tests.collectors.http_fakes import FakeClock, FakeServer, load, reply

BASE = "/public/api/v1"
CFG = {"client_id": "ic-client", "as_user_email": "ops@firm.com", "page_size": 2}
SECRET = "ic-client-secret"


def streams() -> dict[str, Stream]:
    return {s.name: s for s in ic_streams()}


def api(server: FakeServer, clock: FakeClock | None = None, **cfg) -> IroncladAPI:
    policy = (clock or FakeClock()).policy()
    return IroncladAPI(
        CFG | cfg, {"client_secret": SECRET}, ic_streams(), transport=server.transport, policy=policy
    )


def tenant() -> FakeServer:
    server = FakeServer().add("POST", "/oauth/token", reply(200, "token_response.json", vendor="ironclad"))
    server.add("GET", f"{BASE}/records/metadata", reply(200, "records_metadata.json", vendor="ironclad"))
    pages = {"0": "records_page0.json", "1": "records_page1.json"}
    server.add("GET", f"{BASE}/records", lambda r: reply(200, pages[r.url.params["page"]], vendor="ironclad"))
    return server


def test_reads_metadata_first_then_pages_records_of_the_stream_type():
    server = tenant()
    state = StreamState()
    batches = list(api(server).read(streams()["sow"], state))
    expected = load("ironclad", "records_page0.json")["list"] + load("ironclad", "records_page1.json")["list"]
    assert [r for b in batches for r in b.records] == expected
    paths = [r.url.path for r in server.requests]
    assert paths == ["/oauth/token", f"{BASE}/records/metadata", f"{BASE}/records", f"{BASE}/records"]
    params = dict(server.requests[2].url.params)
    assert params == {
        "types": "statementOfWork",
        "sortField": "lastUpdated",
        "sortDirection": "ASC",
        "page": "0",
        "pageSize": "2",
    }
    assert all(r.headers["x-as-user-email"] == "ops@firm.com" for r in server.requests[1:])
    assert state.cursor == "2024-06-02T17:45:30.250Z"


def test_stops_when_the_count_is_reached_without_asking_for_an_empty_page():
    server = tenant()
    list(api(server).read(streams()["sow"], StreamState()))
    assert len(server.calls(f"{BASE}/records")) == 2  # (1+1)*2 >= 3


def test_incremental_reads_pass_last_updated():
    server = tenant()
    list(api(server).read(streams()["sow"], StreamState(cursor="2024-06-01T08:00:00.000Z")))
    assert server.calls(f"{BASE}/records")[0].url.params["lastUpdated"] == "2024-06-01T08:00:00.000Z"


def test_page_size_is_capped_at_100():
    assert api(tenant(), page_size=500).page_size == 100


def test_a_record_type_the_tenant_does_not_have_is_a_clear_error():
    server = tenant()
    with pytest.raises(CollectorError, match="record type 'plusAgreement' is not in this tenant"):
        list(api(server, record_types={"sow": "plusAgreement"}).read(streams()["sow"], StreamState()))


def test_records_metadata_stream_yields_the_metadata_document():
    server = tenant()
    collector = api(server)
    (batch,) = list(collector.read(streams()["records_metadata"], StreamState()))
    assert batch.records == [load("ironclad", "records_metadata.json")]
    list(collector.read(streams()["sow"], StreamState()))
    assert len(server.calls(f"{BASE}/records/metadata")) == 1  # read once per run


def test_workflows_ask_for_each_status_including_completed():
    server = tenant().add(
        "GET",
        f"{BASE}/workflows",
        lambda r: (
            reply(200, "workflows_completed.json", vendor="ironclad")
            if r.url.params["status"] == "completed"
            else reply(200, {"page": 0, "pageSize": 2, "count": 0, "list": []})
        ),
    )
    wf = Stream("workflows", streams()["sow"].columns, primary_key=("id",), cursor_field="lastUpdated")
    got = [r for b in api(server).read(wf, StreamState()) for r in b.records]
    assert [r["status"] for r in got] == ["completed"]
    assert [r.url.params["status"] for r in server.calls(f"{BASE}/workflows")] == [
        "active",
        "paused",
        "completed",
        "cancelled",
    ]


def test_errors_show_the_body_as_text_and_429_is_retried():
    server = tenant()
    server.routes[("GET", f"{BASE}/records")] = [
        reply(429, "rate limited"),
        reply(400, "Invalid filter expression"),
    ]
    clock = FakeClock()
    with pytest.raises(HttpError, match="HTTP 400: Invalid filter expression"):
        list(api(server, clock).read(streams()["sow"], StreamState()))
    assert len(clock.sleeps) == 1


def test_list_parser_rejects_malformed_envelopes():
    with pytest.raises(MalformedResponse, match="'list' is a null"):
        parse_list_page({"count": 3})
    with pytest.raises(MalformedResponse, match="'count' is a float"):
        parse_list_page({"count": 1e308, "list": []})
    assert parse_list_page({"list": [{"id": "x"}]}).total is None
