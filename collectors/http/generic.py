"""Paging of an undocumented REST API, described by configuration rather than code: the paging style, its
parameter names and where the records, the total, the cursor and the next link sit in a page."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.http.client import HttpClient
from collectors.http.errors import MalformedResponse
from collectors.http.paging import Page, next_link_pages, require_records

STYLES = ("offset", "page", "cursor", "next_link")


@dataclass(frozen=True)
class PagingSpec:
    """How one API pages. Paths are dotted ('data', 'meta.total', '@odata.nextLink'); '' = the body itself."""

    style: str = "offset"
    page_size: int = 100
    record_path: str = "data"
    total_path: str = ""  # offset/page: stop once this many records were read (else at a short page)
    limit_param: str = "limit"  # offset and page styles: the page size parameter
    offset_param: str = "offset"
    page_param: str = "page"
    first_page: int = 1
    cursor_param: str = "cursor"
    cursor_path: str = "next_cursor"
    next_path: str = "next"  # next_link style: the URL of the next page (absolute or relative)
    max_pages: int = 1_000_000

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"paging = {self.style!r}: expected one of {', '.join(STYLES)}")
        if self.page_size < 1:
            raise ValueError(f"page_size must be positive, got {self.page_size}")


def dig(doc: Any, path: str) -> Any:
    """The value at a dotted path ('' = doc); a key holding dots itself ('@odata.nextLink') is tried whole."""
    if not path:
        return doc
    if isinstance(doc, Mapping) and path in doc:
        return doc[path]
    head, _, rest = path.partition(".")
    if isinstance(doc, Mapping) and head in doc and rest:
        return dig(doc[head], rest)
    return None


def _parser(spec: PagingSpec):
    def parse(doc: Any) -> Page:
        records = require_records(dig(doc, spec.record_path), spec.record_path or "(body)")
        total = dig(doc, spec.total_path) if spec.total_path else None
        if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
            raise MalformedResponse(f"page field {spec.total_path!r} is not a non-negative integer")
        nxt = None
        if spec.style == "next_link":
            nxt = dig(doc, spec.next_path)
        elif spec.style == "cursor":
            nxt = dig(doc, spec.cursor_path)
        if nxt is not None and not isinstance(nxt, str):
            raise MalformedResponse(
                f"page field {spec.next_path if spec.style == 'next_link' else spec.cursor_path!r} is not a string"
            )
        return Page(records, next_url=nxt or None, total=total)

    return parse


def configured_pages(
    client: HttpClient, url: str, spec: PagingSpec, params: Mapping[str, Any] | None = None
) -> Iterator[Page]:
    """Every page of a listing, paged as spec says; a page that repeats the previous one is an error."""
    parse, base = _parser(spec), dict(params or {})
    if spec.style == "next_link":
        yield from next_link_pages(
            client, url, parse=parse, params={**base, spec.limit_param: spec.page_size}
        )
        return
    previous: list | None = None
    asked, cursor = 0, None  # records asked for so far: the next offset (a page may hold a repeated one more)
    for number in range(spec.max_pages):
        q = {**base, spec.limit_param: spec.page_size}
        if spec.style == "offset":
            q[spec.offset_param] = asked
        elif spec.style == "page":
            q[spec.page_param] = spec.first_page + number
        elif cursor is not None:
            q[spec.cursor_param] = cursor
        page = client.request_json("GET", url, params=q, parse=parse)
        if previous is not None and page.records and page.records == previous:
            raise MalformedResponse(
                f"{spec.style} page {number + 1} repeats the previous page: the server is not paging"
            )
        previous = page.records
        if page.records:
            yield page
        asked += spec.page_size
        if spec.style == "cursor":
            if not page.next_url:
                return
            if page.next_url == cursor:
                raise MalformedResponse(f"cursor {spec.cursor_path!r} did not advance (paging loop)")
            cursor = page.next_url
            continue
        if page.total is not None:
            if asked >= page.total or not page.records:
                return
        elif len(page.records) < spec.page_size:
            return
    raise MalformedResponse(f"more than {spec.max_pages} pages: paging does not end")
