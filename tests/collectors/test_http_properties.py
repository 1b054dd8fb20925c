"""Property tests: malformed pages thrown at every page parser and transport give only our own clear errors."""

from __future__ import annotations

import contextlib
import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.base import CollectorError, Column, Stream, StreamState
from collectors.http import Page, decode_json
from collectors.ironclad.api import IroncladAPI, parse_list_page, parse_metadata
from collectors.netsuite.api import NetSuiteAPI, parse_suiteql_page
from collectors.salesforce.api import SalesforceAPI, parse_query_page
from tests.collectors.http_fakes import FakeClock

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**20, max_value=10**300)  # huge numbers
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
garbage = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
records = st.lists(st.dictionaries(st.text(max_size=8), garbage, max_size=4) | garbage, max_size=4)


def envelope(keys: dict) -> st.SearchStrategy:
    """A page with the vendor's keys, each present or not, each right-typed or garbage."""
    return st.fixed_dictionaries({}, optional={k: v | garbage for k, v in keys.items()}) | garbage


SF_PAGE = envelope(
    {
        "records": records,
        "done": st.booleans(),
        "totalSize": st.integers(),
        "nextRecordsUrl": st.text(max_size=30),
    }
)
NS_PAGE = envelope(
    {
        "items": records,
        "hasMore": st.booleans(),
        "count": st.integers(),
        "offset": st.integers(),
        "totalResults": st.integers(),
        "links": garbage,
    }
)
IC_PAGE = envelope(
    {"list": records, "count": st.integers(), "page": st.integers(), "pageSize": st.integers()}
)
IC_META = envelope({"recordTypes": garbage, "properties": garbage})

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_page(parse, doc) -> None:
    try:
        page = parse(doc)
    except CollectorError:
        return
    if isinstance(page, Page):
        assert isinstance(page.records, list) and all(isinstance(r, dict) for r in page.records)
        if parse is parse_suiteql_page:
            assert all("links" not in r for r in page.records)


@FAST
@given(SF_PAGE)
def test_salesforce_page_parser(doc):
    check_page(parse_query_page, doc)


@FAST
@given(NS_PAGE)
def test_netsuite_page_parser(doc):
    check_page(parse_suiteql_page, doc)


@FAST
@given(IC_PAGE)
def test_ironclad_page_parser(doc):
    check_page(parse_list_page, doc)


@FAST
@given(IC_META)
def test_ironclad_metadata_parser(doc):
    check_page(parse_metadata, doc)


def bodies(page: st.SearchStrategy) -> st.SearchStrategy:
    """What a server might send: a page, a truncated page, random bytes, non-UTF-8, absurd nesting."""
    as_json = page.map(lambda d: json.dumps(d, allow_nan=True).encode())
    truncated = st.tuples(as_json, st.integers(min_value=0, max_value=200)).map(lambda t: t[0][: t[1]])
    nested = st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n + b"]" * n)
    return as_json | truncated | st.binary(max_size=64) | nested | st.just(b"\xff\xfe{")


@FAST
@given(bodies(SF_PAGE))
def test_decode_json_raises_only_malformed_response(body):
    response = httpx.Response(200, content=body, request=httpx.Request("GET", "https://x.example.com/p"))
    with contextlib.suppress(CollectorError):
        decode_json(response)


STREAM = Stream(
    "s", (Column("id"), Column("lastUpdated", "TIMESTAMPTZ")), primary_key=("id",), cursor_field="id"
)


def collectors(body: bytes):
    """Each transport against a server that answers every call (token endpoints included) with body."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("token"):
            return httpx.Response(200, json={"access_token": "t", "instance_url": "https://x.example.com"})
        return httpx.Response(200, content=body)

    transport = httpx.MockTransport(handler)
    policy = FakeClock().policy(max_attempts=3)
    sf = {"client_id": "c", "instance_url": "https://x.example.com"}
    yield SalesforceAPI(sf, {"client_secret": "s"}, [STREAM], transport=transport, policy=policy)
    ns = {
        "base_url": "https://x.example.com",
        "auth": "tba",
        "consumer_key": "k",
        "token_id": "t",
        "account_id": "1",
        "page_size": 2,
        "max_rows_per_query": 4,
    }
    yield NetSuiteAPI(
        ns, {"consumer_secret": "s", "token_secret": "s"}, [STREAM], transport=transport, policy=policy
    )
    ic = {"base_url": "https://x.example.com/v1", "client_id": "c", "as_user_email": "a@b.c", "page_size": 2}
    yield IroncladAPI(ic, {"client_secret": "s"}, [STREAM], transport=transport, policy=policy)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(SF_PAGE) | bodies(NS_PAGE) | bodies(IC_PAGE))
def test_transports_fed_garbage_raise_only_collector_errors(body):
    for collector in collectors(body):
        try:
            for batch in collector.read(STREAM, StreamState()):
                assert all(isinstance(r, dict) for r in batch.records)
        except CollectorError:
            pass
