"""Paginators for the paging styles the vendors use: next link, offset/limit, page number, header cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from collectors.http.client import HttpClient
from collectors.http.errors import MalformedResponse


@dataclass
class Page:
    """One parsed page: its records as the vendor sent them, and what the vendor said about the rest."""

    records: list[dict[str, Any]]
    next_url: str | None = None  # next-link paging (Salesforce nextRecordsUrl, OData @odata.nextLink)
    has_more: bool = False  # offset paging (NetSuite hasMore)
    total: int | None = None  # page-number paging (Ironclad count)
    page_size: int | None = None  # the page size the server says it used, when it says


PageParser = Callable[[Any], Page]


def require_records(value: Any, key: str) -> list[dict[str, Any]]:
    """A page's record list, checked: a list of JSON objects, or MalformedResponse naming what is wrong."""
    if not isinstance(value, list):
        raise MalformedResponse(f"page field {key!r} is a {_kind(value)}, not a list")
    for i, rec in enumerate(value):
        if not isinstance(rec, dict):
            raise MalformedResponse(f"page field {key!r} item {i} is a {_kind(rec)}, not an object")
    return value


def require_object(doc: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(doc, dict):
        raise MalformedResponse(f"{what} is a {_kind(doc)}, not a JSON object")
    return doc


def optional_int(doc: Mapping[str, Any], key: str) -> int | None:
    """An integer field (bool and float are not integers here), or None when absent or null."""
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedResponse(f"page field {key!r} is {_show(value)}, not a non-negative integer")
    return value


def require_bool(doc: Mapping[str, Any], key: str) -> bool:
    value = doc.get(key)
    if not isinstance(value, bool):
        raise MalformedResponse(f"page field {key!r} is {_show(value)}, not true/false")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _show(value: Any) -> str:
    return "absent" if value is None else f"a {_kind(value)}"


def _check_advances(page: Page, previous: list | None, where: str) -> None:
    """A server that ignores the paging parameter returns the same page forever: stop, say so."""
    if previous is not None and page.records and page.records == previous:
        raise MalformedResponse(f"{where} repeats the previous page: the server is not paging")


def next_link_pages(
    client: HttpClient,
    url: str,
    *,
    parse: PageParser,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    sensitive: tuple[str, ...] = (),
) -> Iterator[Page]:
    """Follow next links (relative paths resolve against the page that named them) until there are none."""
    current: httpx.URL = client.absolute(url)
    seen = {str(current)}
    while True:
        page = client.request_json(
            "GET", current, params=params, headers=headers, parse=parse, sensitive=sensitive
        )
        yield page
        if not page.next_url:
            return
        try:
            nxt = current.join(page.next_url)
        except (httpx.InvalidURL, ValueError):
            raise MalformedResponse("next link is not a valid URL") from None
        if (nxt.scheme, nxt.host, nxt.port) != (current.scheme, current.host, current.port):
            # the credentials go wherever the link points: never follow one off the vendor's host
            raise MalformedResponse(f"next link points to another host ({nxt.host!r})")
        current, params = nxt, None  # the link carries its own query
        if str(current) in seen:
            raise MalformedResponse(f"next link {current.path} repeats an earlier page (paging loop)")
        seen.add(str(current))


def offset_pages(
    client: HttpClient,
    method: str,
    url: str,
    *,
    limit: int,
    parse: PageParser,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    max_rows: int | None = None,
    sensitive: tuple[str, ...] = (),
    params: dict[str, Any] | None = None,
    by_count: bool = False,
) -> Iterator[Page]:
    """offset/limit paging while hasMore; stops at max_rows (the caller windows past a vendor ceiling).

    by_count: the next offset is this one plus the records received (Oracle REST: a server may serve fewer than
    the limit asked, e.g. past its 500 ceiling), instead of plus the limit (NetSuite requires multiples of it)."""
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    offset = 0
    previous: list | None = None
    while max_rows is None or offset + limit <= max_rows:
        page = client.request_json(
            method,
            url,
            params={**(params or {}), "limit": limit, "offset": offset},
            json_body=json_body,
            headers=headers,
            parse=parse,
            sensitive=sensitive,
        )
        _check_advances(page, previous, f"offset {offset}")
        previous = page.records
        yield page
        if not page.has_more:
            return
        if not page.records:
            raise MalformedResponse(f"page at offset {offset} is empty but says more rows follow")
        offset += len(page.records) if by_count else limit  # NetSuite: a multiple of limit


def page_number_pages(
    client: HttpClient,
    url: str,
    *,
    page_size: int,
    parse: PageParser,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    max_pages: int = 1_000_000,
) -> Iterator[Page]:
    """0-based page/pageSize paging: stop when (page+1)*pageSize >= count or a page comes back empty."""
    previous: list | None = None
    for number in range(max_pages):
        page = client.request_json(
            "GET",
            url,
            params={**(params or {}), "page": number, "pageSize": page_size},
            headers=headers,
            parse=parse,
        )
        if not page.records:
            return
        _check_advances(page, previous, f"page {number}")
        previous = page.records
        yield page
        # the server's own pageSize when it states one: a page size it ignored must not end paging early
        size = page.page_size or page_size
        if page.total is not None and (number + 1) * size >= page.total:
            return
    raise MalformedResponse(f"more than {max_pages} pages: paging does not end")


def header_cursor_pages(
    client: HttpClient,
    url: str,
    *,
    read: Callable[[httpx.Response], Page],
    header: str,
    param: str,
    end: str = "null",
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    sensitive: tuple[str, ...] = (),
) -> Iterator[Page]:
    """A cursor the server returns in a response header and takes back as a query parameter (Salesforce Bulk
    API 2.0: Sforce-Locator / ?locator=); the literal `end` (or no header) is the last page."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        query = dict(params or {}) | ({param: cursor} if cursor else {})

        def page_and_cursor(response: httpx.Response) -> tuple[Page, str | None]:
            return read(response), response.headers.get(header)

        page, nxt = client.request_response(
            "GET", url, params=query, headers=headers, read=page_and_cursor, sensitive=sensitive
        )
        yield page
        if nxt is None or nxt.strip() in ("", end):
            return
        if nxt in seen:
            raise MalformedResponse(f"{header} {nxt!r} repeats an earlier page (paging loop)")
        seen.add(nxt)
        cursor = nxt
