"""Files transport: CSV, JSON, JSON lines and Parquet exports, globbed, with per-file lineage."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from collectors.base import Batch, CollectorError, Column, Stream, StreamAbsent, StreamState

# JSON envelopes of the vendors' list responses: a file saved from an API page reads as its records.
_ENVELOPE_KEYS = ("records", "items", "list", "value", "data")
FORMATS = ("csv", "json", "jsonl", "parquet")
_BATCH_ROWS = 50_000  # records parsed into Python objects (JSON)
# Columnar files go in bigger batches: an append of at least a DuckDB row group (122,880 rows) is written
# to the run file as it arrives, while smaller appends are held in memory until the stream commits
# (tier l's 20M time entries: 8 GB held, and 1.6x the time).
_COLUMNAR_BATCH_ROWS = 4 * 122_880


def format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("ndjson", "jsonl"):
        return "jsonl"
    if suffix in ("csv", "json", "parquet"):
        return suffix
    if suffix in ("pq",):
        return "parquet"
    raise CollectorError(f"unsupported file type {path.suffix!r} (expected one of {FORMATS})", file=str(path))


def read_file(path: Path, label: str) -> Iterator[Batch]:
    """Yield a file's records in batches; errors name the file and, where it is known, the row."""
    fmt = format_of(path)
    try:
        if fmt == "csv":
            yield from _read_csv(path, label)
        elif fmt == "parquet":
            yield from _read_parquet(path, label)
        elif fmt == "jsonl":
            yield from _read_jsonl(path, label)
        else:
            yield from _read_json(path, label)
    except CollectorError as exc:
        exc.file = exc.file or label
        raise
    except UnicodeDecodeError as exc:
        raise utf8_error(path, label, fmt) from exc
    except OSError as exc:
        raise CollectorError(f"cannot read file: {exc.strerror or exc}", file=label) from exc


def _read_csv(path: Path, label: str) -> Iterator[Batch]:
    """Every column as text, streamed: a 3 GB export (tier l's time entries) is never held whole; reading it
    at once took its size several times over in memory."""
    first_row = 1
    try:
        frames = pl.scan_csv(path, infer_schema=False)
        for frame in frames.collect_batches(chunk_size=_COLUMNAR_BATCH_ROWS):
            yield Batch(records=frame.to_arrow(), source_file=label, first_row=first_row)
            first_row += frame.height
        if first_row == 1:  # a header and no rows: one empty batch still carries the columns
            empty = pl.DataFrame(schema=frames.collect_schema())
            yield Batch(records=empty.to_arrow(), source_file=label, first_row=1)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        if "utf-8" in str(exc).lower():
            raise utf8_error(path, label, "csv") from exc
        raise _csv_error(path, label, exc) from exc


def utf8_error(path: Path, label: str, fmt: str) -> CollectorError:
    """Name the first line that is not UTF-8, and the bytes: exports must be UTF-8 (a Latin-1 or Windows-1252
    export fails here rather than loading mangled names). Read line by line: only on the error path."""
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.end].hex(" ")
                what = f"not UTF-8 text at line {line_no}, column {exc.start + 1} (bytes {bad}); export the file as UTF-8"
                if fmt == "csv":  # rows count from the first line after the header, as in every CSV message
                    if line_no == 1:
                        return CollectorError(f"header {what}", file=label)
                    return CollectorError(what, file=label, row=line_no - 1)
                if fmt == "jsonl":
                    return CollectorError(what, file=label, row=line_no)
                return CollectorError(what, file=label)
    return CollectorError("not UTF-8 text", file=label)


def _csv_error(path: Path, label: str, exc: Exception) -> CollectorError:
    """Find the first malformed row with the csv module so the message can name it."""
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            return CollectorError("file is empty (no header row)", file=label)
        for i, row in enumerate(reader, start=1):
            if len(row) != len(header):
                return CollectorError(
                    f"row has {len(row)} fields, header has {len(header)}", file=label, row=i
                )
    return CollectorError(f"malformed CSV: {str(exc).splitlines()[0]}", file=label)


def _read_parquet(path: Path, label: str) -> Iterator[Batch]:
    try:
        pf = pq.ParquetFile(path)
    except pa.ArrowInvalid as exc:
        raise CollectorError(f"not a valid Parquet file: {exc}", file=label) from exc
    row = 1
    for rb in pf.iter_batches(batch_size=_COLUMNAR_BATCH_ROWS):
        yield Batch(records=pa.Table.from_batches([rb]), source_file=label, first_row=row)
        row += rb.num_rows


def _read_jsonl(path: Path, label: str) -> Iterator[Batch]:
    batch: list[dict] = []
    first = 1
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CollectorError(
                    f"malformed JSON: {exc.msg} at column {exc.colno}", file=label, row=i
                ) from exc
            if not isinstance(rec, dict):
                raise CollectorError(f"line is a JSON {type(rec).__name__}, not an object", file=label, row=i)
            if not batch:
                first = i
            batch.append(rec)
            if len(batch) >= _BATCH_ROWS:
                yield Batch(records=batch, source_file=label, first_row=first)
                batch = []
    if batch:
        yield Batch(records=batch, source_file=label, first_row=first)


def _read_json(path: Path, label: str) -> Iterator[Batch]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CollectorError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file=label
        ) from exc
    if isinstance(doc, dict):
        key = next((k for k in _ENVELOPE_KEYS if isinstance(doc.get(k), list)), None)
        records = doc[key] if key else [doc]
    elif isinstance(doc, list):
        records = doc
    else:
        raise CollectorError(f"top level is a JSON {type(doc).__name__}, not an object or array", file=label)
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise CollectorError(f"record is a JSON {type(rec).__name__}, not an object", file=label, row=i)
    for offset in range(0, len(records), _BATCH_ROWS):
        yield Batch(records=records[offset : offset + _BATCH_ROWS], source_file=label, first_row=offset + 1)


def infer_stream(name: str, root: Path, pattern: str) -> Stream:
    """A stream for a file with no declaration: every header field as VARCHAR (mapping SQL casts)."""
    try:
        return _infer_stream(name, root, pattern)
    except CollectorError as exc:
        if exc.stream:
            raise
        raise CollectorError(exc.detail, source=exc.source, stream=name, file=exc.file, row=exc.row) from exc


def _infer_stream(name: str, root: Path, pattern: str) -> Stream:
    paths = sorted(root.glob(pattern))
    if not paths:
        raise CollectorError(f"no file matches {pattern!r} in {root}", stream=name)
    first = paths[0]
    fmt = format_of(first)
    if fmt == "csv":
        try:
            with first.open(newline="", encoding="utf-8") as fh:
                names = next(csv.reader(io.StringIO(fh.readline())), [])
        except UnicodeDecodeError as exc:
            raise utf8_error(first, first.name, fmt) from exc
    elif fmt == "parquet":
        names = pq.read_schema(first).names
    else:
        batch = next(read_file(first, first.name), None)
        names = sorted({k for r in (batch.records if batch else []) for k in r}) if batch else []
    return Stream(name=name, columns=tuple(Column(n) for n in names), file_pattern=pattern)


class FilesCollector:
    """Reads a source's streams from files under one directory, one glob pattern per stream."""

    def __init__(self, source: str, path: Path, streams: list[Stream]) -> None:
        self.source = source
        self.path = Path(path)
        self._streams = streams

    def streams(self) -> list[Stream]:
        if not self.path.is_dir():
            raise CollectorError(f"export directory {self.path} does not exist or is not a directory")
        return self._streams

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        pattern = stream.file_pattern or f"{stream.name}.*"
        paths = sorted(p for p in self.path.glob(pattern) if p.is_file())
        if not paths:  # a firm exports what it has: a stream without its file is absent, not failed
            raise StreamAbsent(f"no file matches {pattern!r} in {self.path}")
        for p in paths:
            yield from read_file(p, str(p.relative_to(self.path)))


# --- the generic `files` source kind: any export the firm drops in a directory -------------------------
from closedloop.settings import Setting  # noqa: E402  (kept beside the kind it declares)

SYSTEM = "FILES"
SETTINGS = [
    Setting("streams", dict, {}, "Stream name → glob pattern under `path`, e.g. {invoices = 'ar/*.csv'}."),
    Setting("mapping", str, "", "SQL file mapping raw.<source>__<stream> into canon (optional)."),
]


def streams(cfg: dict) -> list[Stream]:
    root = Path(cfg["path"])
    return [infer_stream(name, root, pattern) for name, pattern in sorted(cfg["streams"].items())]


def files_collector(cfg: dict) -> FilesCollector:
    return _LazyFiles(cfg)


def MAPPING(cfg: dict) -> str:
    return cfg.get("mapping") or ""


class _LazyFiles(FilesCollector):
    """Infers the streams when collection starts, so a missing directory is a collection error."""

    def __init__(self, cfg: dict) -> None:
        super().__init__("files", Path(cfg["path"]), [])
        self._cfg = cfg

    def streams(self) -> list[Stream]:
        super().streams()
        return streams(self._cfg)
