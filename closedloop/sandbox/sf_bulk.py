"""Salesforce Bulk API 2.0 query jobs on the sandbox: create, poll, CSV results paged by Sforce-Locator.

The job runs "in the background" as polls go by: UploadComplete when created, InProgress at the first poll,
JobComplete (or Failed, with the job_failed fault) from the second. Results are the job's rows as CSV with a
header row, `maxRecords` per page (never above the sandbox's Salesforce page cap), the next locator in the
Sforce-Locator header (the text `null` after the last page) and the page's count in Sforce-NumberOfRecords.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from closedloop.sandbox.state import json_response

if TYPE_CHECKING:
    from closedloop.sandbox.salesforce import Query, SalesforceAPI

VENDOR = "salesforce"
_USER = "005SB0000000001AAA"


@dataclass
class Job:
    id: str
    operation: str
    query: Query
    rows: list[dict[str, Any]]
    version: str
    created: str
    state: str = "UploadComplete"
    polls: int = 0
    fails: bool = False
    error_message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        doc = {
            "id": self.id,
            "operation": self.operation,
            "object": self.query.sobject,
            "createdById": _USER,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version.lstrip("v")),
            "jobType": "V2Query",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            "numberRecordsProcessed": len(self.rows) if self.state == "JobComplete" else 0,
            "retries": 0,
            "totalProcessingTime": 0,
        }
        if self.error_message:
            doc["errorMessage"] = self.error_message
        return doc


def _error(code: str, message: str) -> list[dict[str, str]]:
    return [{"errorCode": code, "message": message}]


def _cell(value: Any) -> str:
    """A value as Bulk API CSV writes it: empty for null, true/false, numbers as JSON writes them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str) -> int | None:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
    except ValueError:
        return None
    return int(text) if text.isdigit() else None


class BulkJobs:
    """The /jobs/query routes of the Salesforce sandbox (its token check, faults and SOQL engine)."""

    def __init__(self, api: SalesforceAPI) -> None:
        self.api, self.state = api, api.state
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)

    def routes(self) -> list[Route]:
        base = "/services/data/{version}/jobs/query"
        return [
            Route(base, self.create, methods=["POST"]),
            Route(base + "/{job_id}", self.job, methods=["GET", "PATCH", "DELETE"]),
            Route(base + "/{job_id}/results", self.results, methods=["GET"]),
        ]

    def _reply(self, body: Any, status: int = 200) -> Response:
        return self.state.count(VENDOR, json_response(body, status))

    async def create(self, request: Request) -> Response:
        from closedloop.sandbox.salesforce import SoqlError, parse_soql

        denied = await self.api._guard(request)
        if denied is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._reply(_error("INVALIDJSON", "Unable to parse the request body as JSON"), 400)
        operation = body.get("operation") if isinstance(body, dict) else None
        if operation not in ("query", "queryAll"):
            return self._reply(_error("INVALIDJOB", "operation must be query or queryAll"), 400)
        if body.get("contentType", "CSV") != "CSV":
            return self._reply(_error("INVALIDJOB", "contentType must be CSV"), 400)
        try:
            q = parse_soql(str(body.get("query") or ""))
            if q.count:
                raise SoqlError("INVALIDJOB", "Bulk API 2.0 does not support COUNT() queries")
            rows = self.api._select(q, include_deleted=operation == "queryAll")
        except SoqlError as exc:
            return self._reply(_error(exc.code, str(exc)), 400)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        job = Job(f"750SB{next(self._ids):013d}", operation, q, rows, request.path_params["version"], now)
        job.fails = bool(self.state.faults.standing(VENDOR, "job_failed", q.sobject))
        self.jobs[job.id] = job
        return self.state.finish(VENDOR, json_response(job.info()))

    async def job(self, request: Request) -> Response:
        denied = await self.api._guard(request)
        if denied is not None:
            return denied
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return self._reply(_error("NOT_FOUND", "The requested resource does not exist"), 404)
        if request.method == "DELETE":
            self.jobs.pop(job.id, None)
            return self.state.count(VENDOR, Response(status_code=204))
        if request.method == "PATCH":
            try:
                wanted = json.loads(await request.body()).get("state")
            except (ValueError, AttributeError):
                wanted = None
            if wanted != "Aborted":
                return self._reply(_error("INVALIDJOBSTATE", "a query job can only be set to Aborted"), 400)
            if job.state not in ("JobComplete", "Failed"):
                job.state = "Aborted"
            return self._reply(job.info())
        job.polls += 1
        if job.state in ("UploadComplete", "InProgress"):
            if job.polls < 2:
                job.state = "InProgress"
            elif job.fails:
                job.state = "Failed"
                job.error_message = (
                    "InvalidBatch : Failed to process query: UNKNOWN_EXCEPTION: An unexpected error occurred."
                    " Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)"
                )
            else:
                job.state = "JobComplete"
        return self.state.finish(VENDOR, json_response(job.info()))

    async def results(self, request: Request) -> Response:
        from closedloop.sandbox.salesforce import _project

        denied = await self.api._guard(request)
        if denied is not None:
            return denied
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return self._reply(_error("NOT_FOUND", "The requested resource does not exist"), 404)
        if request.path_params["version"] != job.version:
            msg = f"The job was created with API version {job.version}; request its results with the same"
            return self._reply(_error("INVALIDVERSION", msg), 409)
        if job.state != "JobComplete":
            return self._reply(
                _error("INVALIDJOBSTATE", f"job {job.id} is {job.state}, not JobComplete"), 400
            )
        p = request.query_params
        offset = _offset(p["locator"]) if p.get("locator") else 0
        if offset is None:
            return self._reply(_error("INVALIDLOCATOR", "invalid locator"), 400)
        try:
            asked = int(p.get("maxRecords") or 0)
        except ValueError:
            return self._reply(_error("INVALIDPARAMETER", "maxRecords must be an integer"), 400)
        size = max(1, min(asked or len(job.rows) or 1, self.state.caps.salesforce))
        chunk = job.rows[offset : offset + size]
        nxt = offset + size
        if nxt < len(job.rows) and self.state.faults.standing(VENDOR, "duplicates", job.query.sobject):
            nxt = offset  # a server that hands back the page's own locator: the same page forever
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(job.query.fields)
        for row in chunk:
            rec = _project(row, job.query.fields)
            writer.writerow([_cell(_dotted(rec, f)) for f in job.query.fields])
        body = buf.getvalue().encode()
        if self.state.faults.firing(VENDOR, "truncated"):
            body = body[: len(body) // 2]  # a dropped connection: headers sent, half the CSV
        headers = {
            "Sforce-Locator": _locator(nxt) if nxt < len(job.rows) else "null",
            "Sforce-NumberOfRecords": str(len(chunk)),
        }
        return self.state.count(VENDOR, Response(body, media_type="text/csv", headers=headers))


def _dotted(record: dict[str, Any], name: str) -> Any:
    rel, _, sub = name.partition(".")
    if not sub:
        return record.get(name)
    parent = record.get(rel)
    return parent.get(sub) if isinstance(parent, dict) else None


def bare_loop(
    client, base_url: str, token: str, query: str, version: str = "v66.0", poll_seconds: float = 0.01
) -> int:
    """A plain httpx Bulk API 2.0 loop (the bench's baseline): create the job, poll (waits doubling from
    poll_seconds, as the collector's), count the CSV records."""
    import time

    headers = {"Authorization": f"Bearer {token}"}
    jobs = f"{base_url}/services/data/{version}/jobs/query"
    body = {"operation": "query", "query": query, "contentType": "CSV"}
    job = client.post(jobs, json=body, headers=headers).json()
    wait = poll_seconds
    while job["state"] not in ("JobComplete", "Failed", "Aborted"):
        job = client.get(f"{jobs}/{job['id']}", headers=headers).json()
        if job["state"] not in ("JobComplete", "Failed", "Aborted"):
            time.sleep(wait)
            wait *= 2
    n, params = 0, {"maxRecords": "50000"}
    while True:
        resp = client.get(f"{jobs}/{job['id']}/results", params=params, headers=headers)
        n += int(resp.headers["Sforce-NumberOfRecords"])
        locator = resp.headers.get("Sforce-Locator", "null")
        if locator == "null":
            return n
        params = {"maxRecords": "50000", "locator": locator}
