"""OData v2 pieces of the HTTP engine: /Date()/ values, the {"d": ...} envelope, __next to the end, __count kept."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from collectors.http import HttpClient, MalformedResponse, RetryPolicy
from collectors.http.odata_v2 import v2_datetime, v2_page, v2_pages, v2_record


def test_v2_dates_are_utc_instants_whatever_offset_they_name():
    assert v2_datetime("/Date(1717113600000)/") == dt.datetime(2024, 5, 31, tzinfo=dt.UTC)
    # the offset says where it was entered; the milliseconds are the instant (Edm.DateTimeOffset)
    assert v2_datetime("/Date(1717150000000+0060)/") == dt.datetime(2024, 5, 31, 10, 6, 40, tzinfo=dt.UTC)
    assert v2_datetime("/Date(-86400000)/") == dt.datetime(1969, 12, 31, tzinfo=dt.UTC)
    assert v2_datetime("2024-05-31") is None


def test_a_record_becomes_plain_text_values():
    rec = {
        "__metadata": {"type": "X.AType"},
        "Day": "/Date(1717113600000)/",
        "At": "/Date(1717150000000+0000)/",
        "Amount": "125000.00",
        "Flag": True,
        "to_Item": {"__deferred": {"uri": "..."}},
    }
    got = v2_record(rec, {"Day": "DATE", "At": "TIMESTAMPTZ", "Amount": "DECIMAL(18,2)"})
    assert got == {"Day": "2024-05-31", "At": "2024-05-31T10:06:40.000Z", "Amount": "125000.00", "Flag": True}


def test_a_malformed_date_is_refused_not_guessed():
    with pytest.raises(MalformedResponse, match="not an OData v2 date"):
        v2_record({"Day": "/Date(yesterday)/"}, {"Day": "DATE"})


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"value": []}, "field 'd'"),
        ({"d": {"results": {}}}, "'d.results' is a dict"),
        ({"d": {"results": [], "__count": 3}}, "__count' is 3"),
        ({"d": {"results": [], "__next": 5}}, "__next' is not a string"),
    ],
)
def test_a_page_of_the_wrong_shape_says_what_is_wrong(doc, message):
    with pytest.raises(MalformedResponse, match=message):
        v2_page(doc, {})


def _server(pages: dict[str, dict]):
    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("$skiptoken", "0")
        return httpx.Response(200, content=json.dumps({"d": pages[token]}).encode())

    return HttpClient(transport=httpx.MockTransport(handler), policy=RetryPolicy(sleep=lambda _s: None))


def test_next_links_are_followed_to_the_end():
    base = "https://tenant.example/sap/opu/odata/sap/S/A_Set"
    pages = {
        "0": {"results": [{"K": "1"}, {"K": "2"}], "__count": "3", "__next": f"{base}?$skiptoken=2"},
        "2": {"results": [{"K": "3"}], "__count": "3"},
    }
    got = [r["K"] for p in v2_pages(_server(pages), base, types={}, key="K") for r in p.records]
    assert got == ["1", "2", "3"]


def test_a_read_short_of_the_count_is_an_error():
    base = "https://tenant.example/sap/opu/odata/sap/S/A_Set"
    pages = {"0": {"results": [{"K": "1"}], "__count": "2"}}
    with pytest.raises(MalformedResponse, match=r"read 1 records but d\.__count says 2"):
        list(v2_pages(_server(pages), base, types={}, key="K"))


def test_a_page_overlapping_the_previous_one_is_an_error():
    base = "https://tenant.example/sap/opu/odata/sap/S/A_Set"
    pages = {
        "0": {"results": [{"K": "1"}, {"K": "2"}], "__next": f"{base}?$skiptoken=2"},
        "2": {"results": [{"K": "2"}, {"K": "3"}]},
    }
    with pytest.raises(
        MalformedResponse, match=r"A_Set: a page repeats 1 record\(s\) of the previous page \(K 2\)"
    ):
        list(v2_pages(_server(pages), base, types={}, key="K"))


def test_the_v2_error_body_gives_its_code_and_message_value():
    from collectors.http import error_message

    body = {
        "error": {"code": "SY/530", "message": {"lang": "en", "value": "No authorization"}, "innererror": {}}
    }
    response = httpx.Response(403, content=json.dumps(body).encode())
    assert error_message(response) == ("SY/530: No authorization", "SY/530")
