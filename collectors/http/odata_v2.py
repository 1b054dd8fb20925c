"""OData v2 (SAP Gateway) on the one HTTP engine: the {"d": {...}} envelope, `__next` paging, v2 value text.

A v2 service answers `{"d": {"results": [...], "__count": "123", "__next": "...$skiptoken=..."}}`: the count is a
string (with $inlinecount=allpages), dates are `/Date(ms)/` or `/Date(ms+0000)/` (an offset in minutes), decimals
are strings, and each record carries `__metadata` and deferred navigation properties. The paginator follows
`__next` to the end (next_link_pages: same host only, a repeated link is a paging loop) and the values become the
text the runner casts (ISO dates and UTC timestamps), so the files and the HTTP transports land the same rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

from collectors.http.client import HttpClient
from collectors.http.errors import MalformedResponse
from collectors.http.paging import Page, next_link_pages, require_object, require_records

_DATE = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{1,4}))?\)/$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def v2_datetime(text: str) -> dt.datetime | None:
    """`/Date(1717113600000)/` or `/Date(1717150000000+0060)/` as a UTC datetime; None if not a v2 date.

    The milliseconds count from the epoch in UTC; the offset (minutes) only says which zone the value was
    entered in (SAP: Edm.DateTimeOffset), so the instant is the milliseconds alone.
    """
    m = _DATE.match(text)
    if not m:
        return None
    return _EPOCH + dt.timedelta(milliseconds=int(m.group(1)))


def v2_text(value: Any, raw_type: str) -> Any:
    """One v2 value as the runner's text: dates ISO (a DATE column keeps the day), other values unchanged."""
    if isinstance(value, str) and value.startswith("/Date("):
        when = v2_datetime(value)
        if when is None:
            raise MalformedResponse(f"value {value[:40]!r} is not an OData v2 date")
        if raw_type == "DATE":
            return when.date().isoformat()
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def v2_record(record: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    """A v2 entity as plain values: __metadata and navigation properties (deferred or expanded) left out."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "__metadata" or isinstance(value, dict):
            continue
        out[key] = v2_text(value, types.get(key, "VARCHAR"))
    return out


def v2_page(doc: Any, types: Mapping[str, str]) -> Page:
    """A v2 collection page: results, `__count` (a string of digits) and the `__next` link."""
    body = require_object(require_object(doc, "OData v2 response").get("d"), "OData v2 field 'd'")
    records = require_records(body.get("results"), "d.results")
    count = body.get("__count")
    if count is not None and not (isinstance(count, str) and count.isdigit()):
        raise MalformedResponse(f"page field 'd.__count' is {count!r}, not a string of digits")
    nxt = body.get("__next")
    if nxt is not None and not isinstance(nxt, str):
        raise MalformedResponse("page field 'd.__next' is not a string")
    return Page(
        [v2_record(r, types) for r in records],
        next_url=nxt or None,
        total=int(count) if count is not None else None,
    )


def v2_pages(
    client: HttpClient,
    url: str,
    *,
    types: Mapping[str, str],
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    key: str | None = None,
) -> Iterator[Page]:
    """Every page of an entity set, following `__next`. A record whose key (`key`) the previous page held means
    the server's pages overlap (rows shifted while paging); the rows read must reach `__count` when it is given.
    Either way the read is incomplete or doubled: an error, never a silent gap."""
    total: int | None = None
    seen = 0
    previous: set[Any] = set()
    for page in next_link_pages(
        client, url, params=params, headers=headers, parse=lambda doc: v2_page(doc, types)
    ):
        if key:
            ids = {r.get(key) for r in page.records}
            again = sorted(str(i) for i in ids & previous)
            if again:
                raise MalformedResponse(
                    f"{_set_name(url)}: a page repeats {len(again)} record(s) of the previous page"
                    f" ({key} {again[0]}): the server's pages overlap"
                )
            previous = ids
        total = page.total if page.total is not None else total
        seen += len(page.records)
        yield page
    if total is not None and seen != total:
        raise MalformedResponse(f"{_set_name(url)}: read {seen} records but d.__count says {total}")


def _set_name(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
