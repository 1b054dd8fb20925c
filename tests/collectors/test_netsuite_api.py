"""NetSuite SuiteQL transport: offset paging, links dropped, keyset windows, concurrency retries, auth."""

from __future__ import annotations

import json

import pytest

from collectors._source import cols
from collectors.base import Column, Stream, StreamState
from collectors.http import HttpError, MalformedResponse
from collectors.netsuite import streams as ns_streams
from collectors.netsuite.api import NetSuiteAPI, parse_suiteql_page, suiteql, table_of
from tests.collectors.http_fakes import FakeClock, FakeServer, load, reply

SUITEQL = "/services/rest/query/v1/suiteql"
TOKEN = "/services/rest/auth/oauth2/v1/token"
INVOICE = Stream(
    "invoice",
    cols(
        "id",
        "tranid",
        "trandate",
        "entity",
        "status",
        "foreigntotal",
        "posting",
        "voided",
        "lastmodifieddate:TIMESTAMPTZ",
    ),
    primary_key=("id",),
    cursor_field="lastmodifieddate",
)
CFG = {
    "account_id": "1234567_SB1",
    "auth": "tba",
    "consumer_key": "ck",
    "token_id": "tid",
    "tables": {"invoice": "transaction"},
    "filters": {"invoice": "type = 'CustInvc'"},
    "page_size": 2,
}
SECRETS = {"consumer_secret": "cons-secret", "token_secret": "tok-secret"}


def api(
    server: FakeServer, clock: FakeClock | None = None, secrets: dict | None = None, **cfg
) -> NetSuiteAPI:
    policy = (clock or FakeClock()).policy()
    return NetSuiteAPI(CFG | cfg, secrets or SECRETS, [INVOICE], transport=server.transport, policy=policy)


def by_offset(pages: dict[str, str]):
    def handler(request):
        return reply(200, pages[request.url.params["offset"]], vendor="netsuite")

    return handler


def items() -> list[dict]:
    raw = load("netsuite", "suiteql_page1.json")["items"] + load("netsuite", "suiteql_page2.json")["items"]
    return [{k: v for k, v in i.items() if k != "links"} for i in raw]


def test_pages_with_limit_offset_and_has_more_items_minus_links():
    server = FakeServer().add(
        "POST", SUITEQL, by_offset({"0": "suiteql_page1.json", "2": "suiteql_page2.json"})
    )
    state = StreamState()
    batches = list(api(server).read(INVOICE, state))
    assert [r for b in batches for r in b.records] == items()
    assert all("links" not in r for b in batches for r in b.records)
    assert items()[2].get("voided") is None  # an absent column stays absent: the runner casts it to NULL
    first = server.requests[0]
    assert first.url.host == "1234567-sb1.suitetalk.api.netsuite.com"
    assert dict(first.url.params) == {"limit": "2", "offset": "0"}
    assert first.headers["Prefer"] == "transient"
    assert first.headers["Authorization"].startswith('OAuth realm="1234567_SB1"')
    query = json.loads(first.content)["q"]
    assert query == (
        "SELECT id, tranid, trandate, entity, status, foreigntotal, posting, voided, lastmodifieddate"
        " FROM transaction WHERE (type = 'CustInvc') ORDER BY id"
    )
    assert state.cursor == "6/3/2024 11:59 pm"


def test_incremental_filter_on_lastmodifieddate():
    query = suiteql(INVOICE, "transaction", since="2024-06-01 09:15:00")
    assert "lastmodifieddate >= TO_TIMESTAMP('2024-06-01 09:15:00', 'YYYY-MM-DD HH24:MI:SS')" in query
    server = FakeServer().add("POST", SUITEQL, reply(200, {"items": [], "hasMore": False}))
    list(api(server).read(INVOICE, StreamState(cursor="6/1/2024 9:15 am")))
    assert "TO_TIMESTAMP('2024-06-01 09:15:00'" in json.loads(server.requests[0].content)["q"]


def test_windows_past_the_row_ceiling_on_the_key():
    """With a 4-row ceiling and 2-row pages, the third page comes from a new query after the last id."""

    def handler(request):
        q, offset = json.loads(request.content)["q"], int(request.url.params["offset"])
        start = 10 if "id > 4" in q else 1
        n = start + offset
        more = not (start == 10 and offset >= 2)
        return reply(200, {"hasMore": more, "items": [{"links": [], "id": str(n + i)} for i in range(2)]})

    server = FakeServer().add("POST", SUITEQL, handler)
    got = [r["id"] for b in api(server, max_rows_per_query=4).read(INVOICE, StreamState()) for r in b.records]
    assert got == ["1", "2", "3", "4", "10", "11", "12", "13"]
    queries = [json.loads(r.content)["q"] for r in server.requests]
    assert [r.url.params["offset"] for r in server.requests] == ["0", "2", "0", "2"]
    assert "((id > 4))" in queries[2]


def test_composite_keys_window_with_expanded_row_comparison():
    stream = Stream("line", (Column("transaction"), Column("id")), primary_key=("transaction", "id"))
    q = suiteql(stream, "transactionline", after=("77", "'x''y'"))
    assert "WHERE ((transaction > 77) OR (transaction = 77 AND id > 'x''y')) ORDER BY transaction, id" in q


@pytest.mark.parametrize(
    "rejection",
    [
        reply(400, "error_concurrency.json", vendor="netsuite"),
        reply(403, "error_sss_limit.json", vendor="netsuite"),
        reply(429, "Too Many Requests"),
    ],
)
def test_concurrency_rejections_are_retried(rejection):
    server = FakeServer().add(
        "POST", SUITEQL, rejection, reply(200, {"hasMore": False, "items": [{"id": "1"}]})
    )
    clock = FakeClock()
    got = [r for b in api(server, clock).read(INVOICE, StreamState()) for r in b.records]
    assert got == [{"id": "1"}] and len(clock.sleeps) == 1


def test_bad_suiteql_fails_fast_with_the_error_code_and_not_the_query():
    server = FakeServer().add("POST", SUITEQL, reply(400, "error_user_error.json", vendor="netsuite"))
    with pytest.raises(HttpError) as err:
        list(api(server).read(INVOICE, StreamState()))
    assert err.value.code == "USER_ERROR" and "Invalid search query" in str(err.value)
    assert "SELECT" not in str(err.value) and len(server.requests) == 1


def test_m2m_auth_mints_a_token_then_queries():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    server = FakeServer().add("POST", TOKEN, reply(200, "token_response.json", vendor="netsuite"))
    server.add("POST", SUITEQL, reply(200, {"hasMore": False, "items": []}))
    cfg = {"auth": "m2m", "client_id": "cid", "certificate_id": "kid"}
    list(api(server, secrets={"private_key": pem}, **cfg).read(INVOICE, StreamState()))
    assert server.requests[0].url.path == TOKEN
    assert server.requests[1].headers["Authorization"].startswith("Bearer eyJ")


def test_page_parser_rejects_malformed_pages():
    with pytest.raises(MalformedResponse, match="'hasMore'"):
        parse_suiteql_page({"items": []})
    with pytest.raises(MalformedResponse, match="'items' is a dict"):
        parse_suiteql_page({"items": {}, "hasMore": False})
    with pytest.raises(MalformedResponse, match="'totalResults'"):
        parse_suiteql_page({"items": [], "hasMore": False, "totalResults": "many"})
    server = FakeServer().add("POST", SUITEQL, reply(200, {"hasMore": True, "items": []}))
    with pytest.raises(MalformedResponse, match="empty but says more rows follow"):
        list(api(server).read(INVOICE, StreamState()))


def test_declared_streams_map_to_their_suiteql_tables_keys_and_cursors():
    declared = {s.name: s for s in ns_streams()}
    assert table_of(declared["transaction"], {}) == "transaction"
    assert table_of(declared["write_down"], {}) == "customrecord_cl_write_down"
    q = suiteql(declared["write_down"], "customrecord_cl_write_down", since="2024-06-01 00:00:00")
    assert "lastmodified >= TO_TIMESTAMP(" in q and q.endswith("ORDER BY id")
    assert suiteql(declared["transactionline"], "transactionline").endswith("ORDER BY uniquekey")
