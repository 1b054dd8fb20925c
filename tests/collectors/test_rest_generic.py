"""The generic REST source on its own: every paging style and auth mode a firm can configure, driven by a fake
server (httpx.MockTransport) that pages the way each style says, and the errors a wrong description gives."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from collectors._source import cols
from collectors.base import Stream, StreamState
from collectors.http import MalformedResponse
from collectors.http.generic import PagingSpec, dig
from collectors.rest_generic import GenericREST, flatten

ROWS = [{"id": str(i), "meta": {"flow": f"F{i}"}} for i in range(7)]
STREAM = Stream("things", cols("id", "meta.flow"), primary_key=("id",))


def server(style: str, seen: list[httpx.Request]):
    """A fake API paging ROWS in one style, three per page."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "tok-123", "expires_in": 3600})
        q = request.url.params
        size = int(q.get("per", "3"))
        if style == "offset":
            start = int(q.get("from", "0"))
            return httpx.Response(
                200, json={"result": {"items": ROWS[start : start + size]}, "total": len(ROWS)}
            )
        if style == "page":
            start = (int(q.get("p", "1")) - 1) * size
            return httpx.Response(200, json=ROWS[start : start + size])  # a bare list: record_path ''
        if style == "cursor":
            start = int(q.get("after") or 0)
            nxt = start + size if start + size < len(ROWS) else None
            return httpx.Response(
                200, json={"data": ROWS[start : start + size], "paging": {"next": nxt and str(nxt)}}
            )
        start = int(q.get("skip", "0"))
        link = f"/things?per={size}&skip={start + size}" if start + size < len(ROWS) else None
        return httpx.Response(200, json={"value": ROWS[start : start + size], "@odata.nextLink": link})

    return httpx.MockTransport(handle)


CONFIGS = {
    "offset": {
        "paging": "offset",
        "limit_param": "per",
        "offset_param": "from",
        "record_path": "result.items",
        "total_path": "total",
    },
    "page": {"paging": "page", "limit_param": "per", "page_param": "p", "record_path": ""},
    "cursor": {
        "paging": "cursor",
        "limit_param": "per",
        "cursor_param": "after",
        "cursor_path": "paging.next",
    },
    "next_link": {
        "paging": "next_link",
        "limit_param": "per",
        "record_path": "value",
        "next_path": "@odata.nextLink",
    },
}


def read_all(cfg: dict, transport: httpx.MockTransport, secrets=None) -> list[dict]:
    source = GenericREST(
        "acme",
        {"base_url": "https://api.acme.test", "page_size": 3, **cfg},
        secrets or {},
        [STREAM],
        lambda s: "/things",
        transport=transport,
    )
    return [r for b in source.read(STREAM, StreamState()) for r in b.records]


@pytest.mark.parametrize("style", sorted(CONFIGS))
def test_every_paging_style_reads_every_record_once(style):
    seen: list[httpx.Request] = []
    records = read_all(CONFIGS[style], server(style, seen))
    assert [r["id"] for r in records] == [r["id"] for r in ROWS]
    assert [r["meta.flow"] for r in records] == [
        f"F{i}" for i in range(7)
    ]  # nested path lifted to its column
    assert len(seen) == 3  # pages of 3, 3, 1: no extra empty page where the API says it is done


@pytest.mark.parametrize(
    ("auth", "cfg", "secrets", "header"),
    [
        ("none", {}, {}, None),
        (
            "basic",
            {"username": "svc"},
            {"password": "pw-9"},
            "Basic " + base64.b64encode(b"svc:pw-9").decode(),
        ),
        ("bearer", {}, {"token": "static-7"}, "Bearer static-7"),
        (
            "client_credentials",
            {"token_url": "https://api.acme.test/token", "client_id": "cid", "scope": "read"},
            {"client_secret": "cs-5"},
            "Bearer tok-123",
        ),
    ],
)
def test_each_auth_mode_sends_its_header(auth, cfg, secrets, header):
    seen: list[httpx.Request] = []
    read_all({**CONFIGS["offset"], "auth": auth, **cfg}, server("offset", seen), secrets)
    data = [r for r in seen if r.url.path == "/things"]
    assert all(r.headers.get("authorization") == header for r in data)
    if auth == "client_credentials":
        form = dict(x.split("=") for x in seen[0].content.decode().split("&"))
        assert form == {
            "grant_type": "client_credentials",
            "client_id": "cid",
            "client_secret": "cs-5",
            "scope": "read",
        }


def test_a_server_that_ignores_the_offset_is_a_clear_error():
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"data": ROWS[:3]}))
    with pytest.raises(MalformedResponse, match="repeats the previous page"):
        read_all({"paging": "offset"}, transport)


def test_a_cursor_that_does_not_advance_is_a_paging_loop():
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            200, json={"data": [{"id": r.url.params.get("cursor", "0")}], "next_cursor": "same"}
        )
    )
    with pytest.raises(MalformedResponse, match="did not advance"):
        read_all({"paging": "cursor"}, transport)


def test_a_wrong_record_path_names_the_path():
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"items": ROWS}))
    with pytest.raises(MalformedResponse, match="'data'"):
        read_all({"paging": "offset"}, transport)


def test_the_vendor_error_body_reaches_the_message_without_the_secret():
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            403, json={"error": {"code": "Forbidden", "message": "role may not read things"}}
        )
    )
    with pytest.raises(Exception, match="role may not read things") as info:
        read_all({"paging": "offset", "auth": "bearer"}, transport, {"token": "static-secret-1"})
    assert "static-secret-1" not in str(info.value)


def test_description_errors_name_the_setting():
    with pytest.raises(ValueError, match="paging = 'scroll'"):
        PagingSpec(style="scroll")
    with pytest.raises(Exception, match="token_url is required"):
        read_all(
            {"auth": "client_credentials", "client_id": "x"}, server("offset", []), {"client_secret": "y"}
        )
    with pytest.raises(Exception, match="CLOSEDLOOP_ACME_TOKEN"):
        read_all({"auth": "bearer"}, server("offset", []), {})


def test_dig_and_flatten():
    doc = {"@odata.nextLink": "n", "a": {"b": {"c": 1}}}
    assert dig(doc, "@odata.nextLink") == "n" and dig(doc, "a.b.c") == 1 and dig(doc, "a.x") is None
    assert dig(doc, "") is doc
    assert flatten({"a": {"b": 2}, "k": 1}, ["a.b", "k"]) == {"a": {"b": 2}, "k": 1, "a.b": 2}
    assert json.dumps(flatten({}, ["x.y"])) == '{"x.y": null}'
