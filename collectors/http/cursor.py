"""Incremental cursors: read vendor timestamps, keep the newest, write the next request's lower bound."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

# NetSuite renders timestamps in the user's date preference; the common US default first
_LOCAL_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y")


def parse_timestamp(value: Any) -> dt.datetime | None:
    """A vendor timestamp as an aware UTC datetime (naive values are taken as UTC); None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in _LOCAL_FORMATS:
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


class CursorTracker:
    """The newest cursor value seen across a stream's records, kept as the vendor wrote it."""

    def __init__(self, field: str | None) -> None:
        self.field = field
        self.value: str | None = None
        self._newest: dt.datetime | None = None

    def see(self, records: Iterable[Mapping[str, Any]]) -> None:
        if not self.field:
            return
        for rec in records:
            raw = rec.get(self.field)
            when = parse_timestamp(raw)
            if when is not None and (self._newest is None or when > self._newest):
                self._newest, self.value = when, raw


def iso_seconds(value: str) -> str | None:
    """A cursor as YYYY-MM-DDTHH:MM:SSZ (UTC, truncated to the second), the form query languages accept."""
    when = parse_timestamp(value)
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")
