"""The HTTP core: timeouts, retries with Retry-After and jitter, fail-fast 4xx, malformed bodies, paging."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from collectors.http import (
    HttpClient,
    HttpError,
    MalformedResponse,
    Page,
    RetriesExhausted,
    error_message,
    next_link_pages,
    offset_pages,
    page_number_pages,
    retry_after_seconds,
)
from tests.collectors.http_fakes import NOW, FakeClock, FakeServer, reply

URL = "https://api.example.com/v1/things"


def client(server: FakeServer, clock: FakeClock, **policy) -> HttpClient:
    return HttpClient(transport=server.transport, policy=clock.policy(**policy), vendor="test")


def test_every_request_carries_explicit_connect_read_write_pool_timeouts():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.extensions["timeout"])
        return httpx.Response(200, json={})

    HttpClient(transport=httpx.MockTransport(handler)).request_json("GET", URL)
    assert set(seen) == {"connect", "read", "write", "pool"}
    assert all(isinstance(v, float) and v > 0 for v in seen.values())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("-3", None), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_in_seconds(value, expected):
    assert retry_after_seconds(value, NOW) == expected


def test_retry_after_as_http_date():
    later = email.utils.format_datetime(NOW.replace(second=30), usegmt=True)
    assert retry_after_seconds(later, NOW) == 30.0
    earlier = email.utils.format_datetime(NOW.replace(hour=11), usegmt=True)
    assert retry_after_seconds(earlier, NOW) == 0.0


def test_5xx_burst_is_retried_with_exponential_full_jitter_backoff():
    server = FakeServer().add("GET", "/v1/things", reply(500), reply(502), reply(503), reply(200, {"ok": 1}))
    clock = FakeClock()
    assert client(server, clock, base_seconds=1.0, cap_seconds=60.0).request_json("GET", URL) == {"ok": 1}
    assert len(server.requests) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]  # rand() = 0.5 of 1, 2, 4 seconds


def test_backoff_is_capped():
    clock = FakeClock()
    policy = clock.policy(base_seconds=1.0, cap_seconds=5.0, rand=lambda: 0.999)
    assert policy.backoff(10) < 5.0


def test_429_retry_after_seconds_is_honoured():
    server = FakeServer().add(
        "GET", "/v1/things", reply(429, "slow down", headers={"Retry-After": "7"}), reply(200, [])
    )
    clock = FakeClock()
    client(server, clock).request_json("GET", URL)
    assert clock.sleeps == [7.0]


def test_429_retry_after_http_date_is_honoured():
    when = email.utils.format_datetime(NOW.replace(second=12), usegmt=True)
    server = FakeServer().add("GET", "/v1/things", reply(429, headers={"Retry-After": when}), reply(200, []))
    clock = FakeClock()
    client(server, clock).request_json("GET", URL)
    assert clock.sleeps == [12.0]


def test_connection_errors_are_retried():
    server = FakeServer().add(
        "GET",
        "/v1/things",
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        reply(200, {"ok": True}),
    )
    clock = FakeClock()
    assert client(server, clock).request_json("GET", URL) == {"ok": True}
    assert len(clock.sleeps) == 2


def test_attempts_are_bounded_and_the_error_names_the_call_but_not_the_query():
    server = FakeServer().add("GET", "/v1/things", reply(503))
    clock = FakeClock()
    with pytest.raises(RetriesExhausted) as err:
        client(server, clock, max_attempts=4).request_json("GET", URL, params={"q": "SELECT secret"})
    assert len(server.requests) == 4
    assert "GET api.example.com/v1/things" in str(err.value)
    assert "4 attempts" in str(err.value) and "HTTP 503" in str(err.value)
    assert "SELECT" not in str(err.value) and "q=" not in str(err.value)


def test_total_time_budget_bounds_retrying():
    server = FakeServer().add("GET", "/v1/things", reply(429, headers={"Retry-After": "40"}))
    clock = FakeClock()
    with pytest.raises(RetriesExhausted, match="budget of 100s"):
        client(server, clock, max_attempts=50, budget_seconds=100).request_json("GET", URL)
    assert clock.t <= 100


def test_a_retry_after_beyond_reason_is_not_slept():
    server = FakeServer().add("GET", "/v1/things", reply(429, headers={"Retry-After": "86400"}))
    clock = FakeClock()
    with pytest.raises(RetriesExhausted, match="asked to wait 86400s"):
        client(server, clock).request_json("GET", URL)
    assert clock.sleeps == []


def test_other_4xx_fail_fast_with_the_vendor_message():
    server = FakeServer().add(
        "GET", "/v1/things", reply(404, [{"errorCode": "NOT_FOUND", "message": "gone"}])
    )
    clock = FakeClock()
    with pytest.raises(HttpError) as err:
        client(server, clock).request_json("GET", URL)
    assert len(server.requests) == 1 and clock.sleeps == []
    assert err.value.status == 404 and err.value.code == "NOT_FOUND"
    assert "NOT_FOUND: gone" in str(err.value)


def test_sensitive_text_echoed_by_the_vendor_is_hidden():
    query = "SELECT Id FROM Secretive"
    server = FakeServer().add(
        "GET", "/v1/things", reply(400, [{"errorCode": "BAD", "message": f"in {query}"}])
    )
    with pytest.raises(HttpError) as err:
        client(server, FakeClock()).request_json("GET", URL, sensitive=[query])
    assert query not in str(err.value) and "<query>" in str(err.value)


def test_truncated_json_is_retried_once_then_succeeds():
    server = FakeServer().add(
        "GET", "/v1/things", reply(200, b'{"records": [{"Id": "1"'), reply(200, {"records": []})
    )
    clock = FakeClock()
    assert client(server, clock).request_json("GET", URL) == {"records": []}
    assert len(server.requests) == 2


def test_truncated_json_twice_is_a_clear_error():
    server = FakeServer().add("GET", "/v1/things", reply(200, b'{"records": [{"Id": "1"'))
    with pytest.raises(MalformedResponse) as err:
        client(server, FakeClock()).request_json("GET", URL)
    assert len(server.requests) == 2
    assert "not valid JSON" in str(err.value) and "api.example.com/v1/things" in str(err.value)


@pytest.mark.parametrize(
    ("body", "expected", "code"),
    [
        (
            b'[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]',
            "INVALID_SESSION_ID: Session expired or invalid",
            "INVALID_SESSION_ID",
        ),
        (
            b'{"title": "Bad Request", "o:errorDetails": [{"detail": "Bad q", "o:errorCode": "USER_ERROR"}]}',
            "USER_ERROR: Bad q",
            "USER_ERROR",
        ),
        (
            b'{"error": "invalid_client", "error_description": "client identifier invalid"}',
            "invalid_client: client identifier invalid",
            "invalid_client",
        ),
        (
            b'{"error": {"code": "0x80072322", "message": "Number of requests exceeded"}}',
            "0x80072322: Number of requests exceeded",
            "0x80072322",
        ),
        (b"Bad filter expression", "Bad filter expression", None),
        (b"", "(empty body)", None),
    ],
)
def test_error_message_reads_each_vendor_shape(body, expected, code):
    response = httpx.Response(400, content=body, request=httpx.Request("GET", URL))
    assert error_message(response) == (expected, code)


def _pages(server: FakeServer) -> HttpClient:
    return client(server, FakeClock())


def test_next_link_paging_resolves_relative_and_absolute_links():
    def parse(doc):
        return Page(doc["records"], next_url=doc.get("next"))

    server = (
        FakeServer()
        .add("GET", "/v1/things", reply(200, {"records": [{"n": 1}], "next": "/v1/things/page-2"}))
        .add(
            "GET",
            "/v1/things/page-2",
            reply(200, {"records": [{"n": 2}], "next": "https://api.example.com/v1/p3"}),
        )
        .add("GET", "/v1/p3", reply(200, {"records": [{"n": 3}]}))
    )
    pages = list(next_link_pages(_pages(server), URL, params={"q": "x"}, parse=parse))
    assert [r["n"] for p in pages for r in p.records] == [1, 2, 3]
    assert server.requests[0].url.params["q"] == "x"
    assert "q" not in server.requests[1].url.params  # a next link carries its own query


def test_next_link_loop_is_detected():
    def parse(doc):
        return Page(doc["records"], next_url="/v1/things")

    server = FakeServer().add("GET", "/v1/things", reply(200, {"records": []}))
    with pytest.raises(MalformedResponse, match="repeats"):
        list(next_link_pages(_pages(server), URL, parse=parse))


def test_offset_paging_keeps_offsets_multiples_of_the_limit_and_stops_at_max_rows():
    def parse(doc):
        return Page(doc["items"], has_more=True)

    server = FakeServer().add(
        "POST", "/v1/things", lambda r: reply(200, {"items": [{"o": r.url.params["offset"]}]})
    )
    pages = list(offset_pages(_pages(server), "POST", URL, limit=10, parse=parse, json_body={}, max_rows=35))
    assert [p.records[0]["o"] for p in pages] == ["0", "10", "20"]


def test_page_number_paging_stops_on_count_or_empty_list():
    def parse(doc):
        return Page(doc["list"], total=doc.get("count"))

    server = FakeServer().add(
        "GET", "/v1/things", lambda r: reply(200, {"count": 5, "list": [{"p": r.url.params["page"]}] * 2})
    )
    pages = list(page_number_pages(_pages(server), URL, page_size=2, parse=parse))
    assert [p.records[0]["p"] for p in pages] == ["0", "1", "2"]  # (2+1)*2 >= 5
    empty = FakeServer().add("GET", "/v1/things", reply(200, {"list": []}))
    assert list(page_number_pages(_pages(empty), URL, page_size=2, parse=parse)) == []


def test_the_sources_deadline_stops_its_calls_and_the_later_ones_are_not_sent():
    from collectors.http import RetriesExhausted, policy_for

    clock = FakeClock()
    server = FakeServer().add("GET", "/a", reply(503, "busy")).add("GET", "/b", reply(200, {}))
    base = policy_for({"retry_max_attempts": 100, "retry_deadline_seconds": 10})
    policy = clock.policy(max_attempts=base.max_attempts, deadline_seconds=base.deadline_seconds)
    http = HttpClient(transport=server.transport, policy=policy)
    with pytest.raises(RetriesExhausted) as first:
        http.request_json("GET", "https://api.example.com/a")
    assert sum(clock.sleeps) <= 10 and len(server.requests) < 100
    assert "retry deadline of 10s (retry_deadline_seconds)" in str(first.value)
    assert str(first.value).endswith("last error: HTTP 503")
    sent = len(server.requests)
    with pytest.raises(RetriesExhausted, match="not sent; the source's retry deadline"):
        http.request_json("GET", "https://api.example.com/b")
    assert len(server.requests) == sent  # the source gave up: no further request


def test_a_success_resets_the_deadline_and_retry_after_is_waited_as_asked():
    clock = FakeClock()
    server = FakeServer().add(
        "GET",
        "/a",
        reply(429, {}, headers={"Retry-After": "4"}),
        reply(200, {"ok": 1}),
        reply(429, {}, headers={"Retry-After": "4"}),
        reply(200, {"ok": 2}),
    )
    http = HttpClient(transport=server.transport, policy=clock.policy(deadline_seconds=5))
    assert http.request_json("GET", "https://api.example.com/a") == {"ok": 1}
    assert http.request_json("GET", "https://api.example.com/a") == {"ok": 2}  # 8 s in all, 4 s per streak
    assert clock.sleeps == [4.0, 4.0]


def test_a_429_is_reported_as_rate_limited_with_its_retry_after():
    clock = FakeClock()
    server = FakeServer().add("GET", "/a", reply(429, {}, headers={"Retry-After": "2"}))
    http = HttpClient(transport=server.transport, policy=clock.policy(max_attempts=2))
    with pytest.raises(RetriesExhausted) as err:
        http.request_json("GET", "https://api.example.com/a")
    assert "last error: HTTP 429 rate limited (Retry-After: 2)" in str(err.value)
