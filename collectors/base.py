"""The collector protocol: streams are declared as data, records are yielded, the runner does the rest."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

# Raw column types a stream may declare; the runner casts vendor values (strings, 'T'/'F', '5/31/2024')
# into these. JSON holds nested vendor objects (Salesforce relationships, Ironclad properties) as text.
RAW_TYPES = (
    "VARCHAR",
    "BIGINT",
    "DOUBLE",
    "DECIMAL(18,2)",
    "DECIMAL(18,8)",
    "BOOLEAN",
    "DATE",
    "TIMESTAMPTZ",
    "JSON",
)

LINEAGE_COLUMNS = (
    ("_run_id", "VARCHAR"),
    ("_source", "VARCHAR"),
    ("_stream", "VARCHAR"),
    ("_extracted_at", "TIMESTAMPTZ"),
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
)


@dataclass(frozen=True)
class Column:
    """One declared column of a stream: the vendor's field name and the raw type it is cast to."""

    name: str
    type: str = "VARCHAR"
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in RAW_TYPES:
            raise ValueError(f"column {self.name!r}: unknown raw type {self.type!r} (one of {RAW_TYPES})")


@dataclass(frozen=True)
class Stream:
    """A stream declared as data: what a source offers, keyed and typed, so one runner can write it."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    cursor_field: str | None = None
    # file pattern (relative to the source's path) for the files transport; bulk streams are CSV/Parquet
    file_pattern: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # the raw table cannot hold a column twice (DuckDB: duplicate column name)
            raise ValueError(f"stream {self.name!r} declares {', '.join(map(repr, twice))} more than once")

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass
class Batch:
    """Records from one place (a file, a page run): dicts or an Arrow table, with lineage for errors."""

    records: list[Mapping[str, Any]] | pa.Table
    source_file: str | None = None
    first_row: int = 1  # row number of the first record in source_file (1-based, header excluded)
    # declared columns the source said it lacks (dropped from the query and retried): NULL in raw, and
    # listed even when no record came back, which record keys alone could not tell
    missing_fields: tuple[str, ...] = ()


@dataclass
class StreamState:
    """Cursor state carried between runs for incremental streams."""

    cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class CollectorError(Exception):
    """A failure that names where it happened: source, stream, file and row when known."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        stream: str | None = None,
        file: str | None = None,
        row: int | None = None,
    ) -> None:
        self.source, self.stream, self.file, self.row = source, stream, file, row
        self.detail = message
        where = ", ".join(
            f"{k} {v}" for k, v in (("source", source), ("stream", stream), ("file", file), ("row", row)) if v
        )
        super().__init__(f"{where}: {message}" if where else message)


class Collector(Protocol):
    """What the runner needs from a source: its key, its streams, and records per stream."""

    source: str

    def streams(self) -> list[Stream]: ...

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]: ...


class StreamAbsent(CollectorError):
    """The source has no such table/object/file, or the integration role may not read it.

    Not a failure: a firm's estate lacks what it lacks. The runner writes the stream's raw table empty,
    records it as absent with this message (the vendor's words, never a secret) and the source stays ok.
    """
