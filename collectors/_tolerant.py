"""Reading what an estate has: a query naming a column the source lacks is retried without it.

Every firm configures its ERP and CRM differently (DESIGN.md "Every firm is configured differently"): the
declared columns are what the mappings can use, not what every account has. The vendor names the one
unknown column per error, so the query is re-sent without it, at most once per declared column; a table
or object the account lacks (or the role may not read) makes the stream absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from collectors.base import Batch, Column, Stream, StreamAbsent
from collectors.config_keys import missing_key_column
from collectors.http import HttpError


@dataclass(frozen=True)
class Verdict:
    """How a vendor error reads: the stream is absent (reason) or one column is unknown (column)."""

    absent: str | None = None
    column: str | None = None


def vendor_words(exc: HttpError) -> str:
    """The vendor's part of an HTTP error ('HTTP 403: CODE: message'), without the call it was made on."""
    text = exc.detail
    _, sep, tail = text.partition(" failed with ")
    return tail if sep else text


def read_tolerant(
    stream: Stream,
    read: Callable[[tuple[Column, ...]], Iterator[Batch]],
    verdict: Callable[[HttpError], Verdict | None],
    *,
    kind: str,
    source: str,
    cfg: Mapping[str, Any],
    have: Callable[[], Iterable[str]],
) -> Iterator[Batch]:
    """Batches of `read(columns)`, dropping each column the vendor says is unknown and retrying.

    A required, key or cursor column cannot be dropped: the stream fails naming the setting to change and
    the closest names `have()` reports. Errors after the first batch are never retried (rows were written).
    """
    columns = tuple(stream.columns)
    keep = {*stream.primary_key, *([stream.cursor_field] if stream.cursor_field else [])}
    dropped: list[str] = []
    for _ in range(len(stream.columns) + 1):
        started = False
        try:
            for batch in read(columns):
                started = True
                batch.missing_fields = tuple(dropped)
                yield batch
            if not started and dropped:  # no rows: still say which columns the source lacks
                yield Batch(records=[], source_file=None, missing_fields=tuple(dropped))
            return
        except HttpError as exc:
            seen = None if started else verdict(exc)
            if seen is None:
                raise
            if seen.absent:
                raise StreamAbsent(seen.absent) from None
            col = _column_of(columns, seen.column or "")
            if col is None:  # not one we asked for: dropping cannot help
                raise
            if col.required or col.name in keep:
                raise missing_key_column(kind, source, stream.name, col.name, _safe(have), cfg) from None
            dropped.append(col.name)
            columns = tuple(c for c in columns if c is not col)
    raise StreamAbsent(f"every declared column was refused: {', '.join(dropped)}")


def _column_of(columns: tuple[Column, ...], name: str) -> Column | None:
    """The declared column a vendor's field name is (case-insensitive; 'Rel.Field' is column 'Rel')."""
    low = name.lower()
    for c in columns:
        if c.name.lower() == low or low.startswith(c.name.lower() + "."):
            return c
    return None


def _safe(have: Callable[[], Iterable[str]]) -> list[str]:
    """The source's column names for a hint; a failing lookup only loses the hint."""
    try:
        return list(have())
    except Exception:
        return []
