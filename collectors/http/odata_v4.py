"""OData v4 (Dataverse Web API) pages: `value` plus `@odata.nextLink`, followed unmodified by next_link_pages."""

from __future__ import annotations

from typing import Any

from collectors.http.errors import MalformedResponse
from collectors.http.paging import Page, require_object, require_records

NEXT_LINK = "@odata.nextLink"
FORMATTED_VALUES = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'


def prefer(max_page_size: int) -> str:
    """The Prefer header of every page request: the page size and option-set labels (sent again on next links)."""
    return f"odata.maxpagesize={max_page_size},{FORMATTED_VALUES}"


def parse_odata_page(doc: Any) -> Page:
    """A collection response {"@odata.context", "value": [...], "@odata.nextLink"?}."""
    d = require_object(doc, "OData collection response")
    records = require_records(d.get("value"), "value")
    nxt = d.get(NEXT_LINK)
    if nxt is not None and (not isinstance(nxt, str) or not nxt.strip()):
        raise MalformedResponse(f"page field {NEXT_LINK!r} is not a URL")
    return Page(records, next_url=nxt or None)
