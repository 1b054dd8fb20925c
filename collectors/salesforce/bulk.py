"""Salesforce Bulk API 2.0 query jobs: create, poll until JobComplete, read CSV result pages by Sforce-Locator.

For volume: one job reads a whole object as CSV instead of 2,000-record JSON pages. A stream goes through
Bulk API when it is listed in `bulk_streams`, or when a COUNT() query finds at least `bulk_threshold` rows to
read. The CSV is typed by the stream's declared columns into the same Python values /query's JSON gives, so
the raw table is the same either way. Relationship columns (Account.Name nested as an object with its
attributes) cannot be rebuilt from CSV: such a stream stays on /query.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors.base import CollectorError, Column, Stream
from collectors.http import (
    HttpClient,
    MalformedResponse,
    Page,
    header_cursor_pages,
    poll_json,
    require_object,
)

BULK_SETTINGS: list[Setting] = [
    Setting(
        "bulk_threshold",
        int,
        0,
        "Read a stream through Bulk API 2.0 when a COUNT() query finds at least this many rows to read"
        " (0: only the bulk_streams).",
    ),
    Setting("bulk_streams", list, [], "Streams always read through Bulk API 2.0 query jobs."),
    Setting("bulk_page_size", int, 50000, "maxRecords per Bulk API 2.0 results page."),
    Setting("bulk_poll_seconds", float, 0.5, "First wait between job status polls; doubles each poll."),
    Setting("bulk_poll_max_seconds", float, 30.0, "Longest wait between job status polls."),
    Setting("bulk_timeout_seconds", float, 3600.0, "A job not complete after this long is aborted."),
]
DONE_STATES = ("JobComplete", "Failed", "Aborted")
_JOB_ID = re.compile(r"^[A-Za-z0-9]{15,18}$")


def relationship_columns(columns: tuple[Column, ...]) -> list[str]:
    return [c.name for c in columns if c.type == "JSON"]


def check_bulk_settings(cfg: Mapping[str, Any], prefix: str, streams: list[Stream]) -> None:
    """bulk_streams must name streams that can go through Bulk API (no relationship columns)."""
    by_name = {s.name: s for s in streams}
    for name in cfg.get("bulk_streams") or []:
        stream = by_name.get(name)
        if stream is None:
            raise ValueError(
                f"{prefix}.bulk_streams: unknown stream {name!r} (streams: {', '.join(by_name)})"
            )
        rel = relationship_columns(stream.columns)
        if rel:
            raise ValueError(
                f"{prefix}.bulk_streams: stream {name!r} selects relationship column(s) {', '.join(rel)},"
                " which Bulk API 2.0 CSV flattens; it is read through /query"
            )


def wants_bulk(cfg: Mapping[str, Any], stream: Stream, columns: tuple[Column, ...]) -> str:
    """'always' (listed), 'count' (decide by COUNT()), or '' (never: not configured, or relationship columns)."""
    if relationship_columns(columns):
        return ""
    if stream.name in (cfg.get("bulk_streams") or []):
        return "always"
    return "count" if int(cfg.get("bulk_threshold") or 0) > 0 else ""


def count_soql(sobject: str, where: str) -> str:
    """The COUNT() query of the same rows the stream's query reads (its WHERE, no ORDER BY)."""
    return f"SELECT COUNT() FROM {sobject}" + (f" WHERE {where}" if where else "")


def _value(text: str, column: Column | None) -> Any:
    """A CSV cell as /query's JSON would give it: empty is null, numbers and booleans typed, the rest text."""
    if text == "":
        return None
    typ = column.type if column else "VARCHAR"
    if typ == "BOOLEAN":
        if text not in ("true", "false"):
            raise MalformedResponse(f"column {column.name!r}: {text[:20]!r} is not true/false")
        return text == "true"
    if typ in ("BIGINT", "DOUBLE") or typ.startswith("DECIMAL"):
        try:
            number = json.loads(text)  # the same int/float json.loads gives the REST page
        except ValueError:
            raise MalformedResponse(f"column {column.name!r}: {text[:20]!r} is not a number") from None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise MalformedResponse(f"column {column.name!r}: {text[:20]!r} is not a number")
        return number
    return text


def csv_page(columns: tuple[Column, ...]):
    """A results page reader: CSV rows typed by the declared columns, checked against Sforce-NumberOfRecords."""
    by_name = {c.name: c for c in columns}

    def read(response: httpx.Response) -> Page:
        declared = response.headers.get("Sforce-NumberOfRecords")
        if declared is None or not declared.strip().isdigit():
            raise MalformedResponse("results page has no Sforce-NumberOfRecords header")
        try:
            text = response.content.decode("utf-8")
            rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise MalformedResponse(f"results page is not valid CSV ({exc})") from None
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        if len(body) != int(declared):
            raise MalformedResponse(
                f"results page has {len(body)} CSV records, Sforce-NumberOfRecords says {declared}"
                " (truncated or malformed)"
            )
        records = []
        for i, row in enumerate(body):
            if len(row) != len(header):
                raise MalformedResponse(f"results record {i + 1} has {len(row)} fields, header {len(header)}")
            records.append({h: _value(v, by_name.get(h)) for h, v in zip(header, row, strict=True)})
        return Page(records)

    return read


def _job(doc: Any) -> dict[str, Any]:
    d = require_object(doc, "Bulk API 2.0 job")
    if not isinstance(d.get("id"), str) or not _JOB_ID.match(d["id"]):
        raise MalformedResponse("Bulk API 2.0 job response has no valid id")
    if not isinstance(d.get("state"), str):
        raise MalformedResponse(f"Bulk API 2.0 job {d['id']} has no state")
    return dict(d)


def bulk_pages(
    http: HttpClient,
    base: str,
    version: str,
    query: str,
    columns: tuple[Column, ...],
    cfg: Mapping[str, Any],
) -> Iterator[Page]:
    """Create a query job, poll it to JobComplete, then yield its CSV result pages to the last locator."""
    jobs = f"{base}/services/data/{version}/jobs/query"
    body = {
        "operation": "queryAll" if cfg.get("include_deleted") else "query",
        "query": query,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
    }
    job = http.request_json("POST", jobs, json_body=body, parse=_job, sensitive=(query,))
    url = f"{jobs}/{job['id']}"
    try:
        job = poll_json(
            http,
            url,
            finished=lambda d: isinstance(d, dict) and d.get("state") in DONE_STATES,
            first_seconds=_seconds(cfg, "bulk_poll_seconds", 0.5),
            cap_seconds=_seconds(cfg, "bulk_poll_max_seconds", 30.0),
            timeout_seconds=_seconds(cfg, "bulk_timeout_seconds", 3600.0),
            what=f"Bulk API 2.0 query job {job['id']}",
        )
    except CollectorError:
        _abort(http, url)
        raise
    job = _job(job)
    if job["state"] != "JobComplete":
        why = job.get("errorMessage") or "no errorMessage"
        raise CollectorError(f"Bulk API 2.0 query job {job['id']} ended {job['state']}: {why}")
    yield from header_cursor_pages(
        http,
        f"{url}/results",
        read=csv_page(columns),
        header="Sforce-Locator",
        param="locator",
        params={"maxRecords": max(1, int(cfg.get("bulk_page_size") or 50000))},
        sensitive=(query,),
    )


def _seconds(cfg: Mapping[str, Any], key: str, default: float) -> float:
    """A duration setting; 0 is a value (no wait), only an absent key takes the default."""
    value = cfg.get(key)
    return default if value is None else max(0.0, float(value))


def _abort(http: HttpClient, url: str) -> None:
    """Best effort: a job we stop waiting for is aborted, so it does not keep running in the org."""
    with contextlib.suppress(CollectorError):
        http.request_json("PATCH", url, json_body={"state": "Aborted"})
