"""SAP S/4HANA Cloud on the sandbox: OData v2 entity sets under /sap/opu/odata/sap/<SERVICE>/<EntitySet>.

Speaks what a tenant's communication arrangement answers: HTTP Basic (communication user) or an OAuth
client-credentials bearer token (client authenticated by Basic at /oauth/token), `$format=json`, `$select`
(an unknown property is a 400), `$filter=LastChangeDateTime gt datetimeoffset'...'`, `$inlinecount=allpages`
(`__count` as a string) and server-driven paging (`__next` with `$skiptoken`), v2 error bodies. Records are the
rendered exports (closedloop/demo/render/sap_s4.py), already written as the service writes values.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets as _random
import threading
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from closedloop.sandbox.state import Credentials, SandboxState, bearer, form_of, json_response, unauthorized
from collectors.http.odata_v2 import v2_datetime

VENDOR = "sap_s4"
ROOT = "/sap/opu/odata/sap"
PAGE_SIZE = 5000  # server-driven page size; tests lower it through state.caps.sap_s4
_FILTER = re.compile(r"^\s*(\w+)\s+(gt|ge)\s+datetimeoffset'([^']+)'\s*$")


def error(status: int, code: str, message: str) -> dict[str, Any]:
    """The OData v2 error body of SAP Gateway."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S.%f")
    return {
        "error": {
            "code": code,
            "message": {"lang": "en", "value": message},
            "innererror": {
                "transactionid": _random.token_hex(16).upper(),
                "timestamp": now,
                "Error_Resolution": {
                    "SAP_Transaction": "For backend administrators: use ADT feed reader "
                    '"SAP Gateway Error Log" or run transaction /IWFND/ERROR_LOG',
                    "SAP_Note": "See SAP Note 1797736 for error analysis",
                },
                "errordetails": [{"code": code, "message": message, "severity": "error", "target": ""}],
            },
        }
    }


def communication_user(creds: Credentials) -> tuple[str, str]:
    """The communication user and its password (HTTP Basic) of the sandbox tenant."""
    user, secret = creds.client(VENDOR)
    return user.upper().replace("-", "_"), secret


class SapS4API:
    """Routes of the S/4HANA sandbox; every data call needs Basic credentials or a live bearer token."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._cache: dict[Path, Lines | None] = {}
        self._lock = threading.Lock()
        self._listings: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", self.token, methods=["POST"]),
            Route(f"{ROOT}/{{service}}/{{entity_set}}", self.entity_set, methods=["GET"]),
        ]

    # --- auth ---------------------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        client_id, secret = self.state.credentials.client(VENDOR)
        given = _basic(request) or (form.get("client_id", ""), form.get("client_secret", ""))
        if form.get("grant_type") != "client_credentials":
            body = {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            }
            return self.state.count(VENDOR, json_response(body, 400))
        if given != (client_id, secret):
            body = {"error": "unauthorized", "error_description": "Bad credentials"}
            return self.state.count(VENDOR, json_response(body, 401))
        token = self.state.tokens.issue(VENDOR, ttl=43_199)
        doc = {"access_token": token, "token_type": "bearer", "expires_in": 43199, "scope": "uaa.resource"}
        return self.state.count(VENDOR, json_response(doc))

    def _authorized(self, request: Request) -> bool:
        token = bearer(request)
        if token:
            return self.state.tokens.valid(VENDOR, token)
        return _basic(request) == communication_user(self.state.credentials)

    # --- data ---------------------------------------------------------------------------------------
    def records(self, service: str, entity_set: str) -> Lines | None:
        """An entity set's records (None: the tenant does not expose it), indexed once, parsed page by page."""
        path = self.state.exports.root / VENDOR / service.split(";")[0] / f"{entity_set}.jsonl"
        with self._lock:
            if path not in self._cache:
                self._cache[path] = Lines(path) if path.is_file() else None
            return self._cache[path]

    async def entity_set(self, request: Request) -> Response:
        if not self._authorized(request):
            return self.state.count(VENDOR, unauthorized(VENDOR, error))
        denied = await self.state.request_faults(VENDOR, error, request)
        if denied is not None:
            return denied
        service, name = request.path_params["service"], request.path_params["entity_set"]
        if self.state.faults.standing(VENDOR, "permission_denied", name):
            msg = f"No authorization to access service '{service.split(';')[0]}' (communication arrangement)"
            return self.state.count(VENDOR, json_response(error(403, "/IWFND/CM_CONSUMER/101", msg), 403))
        rows = self.records(service, name)
        if rows is None:
            msg = (
                f"Resource not found for segment '{name}'"
                if self._service_known(service)
                else (f"No service found for namespace '', name '{service.split(';')[0]}', version '0001'")
            )
            return self.state.count(VENDOR, json_response(error(404, "/IWFND/MED/170", msg), 404))
        p = request.query_params
        try:
            rows = self._filtered(service, name, rows, p.get("$filter"))
            if p.get("$top") or p.get("$skip"):  # client-driven paging ($skip, $top): a window of the listing
                first = int(p.get("$skip") or 0)
                rows = rows[first : first + int(p["$top"])] if p.get("$top") else rows[first:]
            select = self._check_select(rows, p.get("$select"), name)
            skip = int(p.get("$skiptoken") or 0)
        except ValueError as exc:
            return self.state.count(VENDOR, json_response(error(400, "/IWBEP/CM_MGW_RT/022", str(exc)), 400))
        size = max(1, int(getattr(self.state.caps, VENDOR, PAGE_SIZE)))
        start = skip
        if skip and self.state.faults.standing(VENDOR, "duplicates", name):
            start -= 1  # rows changed while paging shift the server's cursor: one repeats
        page = [self._drifted(r, name) for r in rows[start : skip + size]]
        if select:
            page = [
                {k: r.get(k) for k in ("__metadata", *select) if k in r or k != "__metadata"} for r in page
            ]
        body: dict[str, Any] = {"results": page}
        if p.get("$inlinecount") == "allpages":
            body["__count"] = str(len(rows))
        if skip + size < len(rows):
            query = [(k, v) for k, v in p.multi_items() if k != "$skiptoken"] + [
                ("$skiptoken", str(skip + size))
            ]
            # as SAP Gateway writes it: $-options unescaped
            body["__next"] = str(request.url.replace(query=urllib.parse.urlencode(query, safe="$,'()")))
        return self.state.finish(VENDOR, json_response({"d": body}))

    def _service_known(self, service: str) -> bool:
        return (self.state.exports.root / VENDOR / service.split(";")[0]).is_dir()

    def _drifted(self, record: dict[str, Any], entity_set: str) -> dict[str, Any]:
        """A renamed (or dropped) field, as a tenant's changed extension would leave it."""
        for fault in self.state.faults.standing(VENDOR, "drift", entity_set):
            if fault.field in record:
                record = dict(record)
                value = record.pop(fault.field)
                if fault.to:
                    record[fault.to] = value
        return record

    def _filtered(self, service: str, name: str, rows: list[dict[str, Any]], text: str | None) -> list:
        """The rows a $filter keeps, computed once per listing (its pages share it)."""
        if not text:
            return rows
        key = (service, name, text)
        with self._lock:
            if key not in self._listings:
                while len(self._listings) > 32:
                    self._listings.pop(next(iter(self._listings)))
                self._listings[key] = _filter(rows, text)
            return self._listings[key]

    def _check_select(self, rows: list[dict[str, Any]], text: str | None, name: str) -> list[str]:
        """The $select fields, each one the entity type has (after drift), else the service's 400."""
        if not text:
            return []
        wanted = [f.strip() for f in text.split(",") if f.strip()]
        sample = [self._drifted(r, name) for r in rows[:50]]
        known = set().union(*(r.keys() for r in sample)) if sample else set(wanted)
        for f in wanted:
            if f not in known:
                raise ValueError(f"Property '{f}' not found in type '{name}Type'")
        return wanted


def _filter(rows: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """$filter=<stamp> gt|ge datetimeoffset'...': the only filter the collector sends."""
    m = _FILTER.match(text)
    if not m:
        raise ValueError(f"Invalid filter expression: '{text[:80]}'")
    field, op, value = m.groups()
    try:
        since = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"Invalid datetimeoffset literal '{value[:40]}'") from None

    def keep(r: dict[str, Any]) -> bool:
        when = v2_datetime(r[field]) if isinstance(r.get(field), str) else None
        return when is not None and (when > since if op == "gt" else when >= since)

    return [r for r in rows if keep(r)]


def _basic(request: Request) -> tuple[str, str] | None:
    value = request.headers.get("authorization", "")
    if value[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(value[6:].strip()).decode().partition(":")
    except ValueError:
        return None
    return user, password


class Lines(Sequence):
    """A JSON-lines export as a sequence of records: line offsets found once (vectorised), a slice parses only
    its own lines, so a tenant of millions of timesheet records pages without holding them all as objects."""

    def __init__(self, path: Path) -> None:
        import mmap

        import numpy as np

        size = path.stat().st_size
        with path.open("rb") as fh:  # mapped, not read: the OS pages in what a request touches
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        ends = np.flatnonzero(np.frombuffer(self._data, dtype=np.uint8) == 10) if size else np.array([], int)
        if size and self._data[size - 1 : size] != b"\n":
            ends = np.append(ends, size)
        starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else ends
        keep = ends > starts  # blank lines are no records
        self._starts, self._ends = starts[keep].tolist(), ends[keep].tolist()

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self._record(i) for i in range(*index.indices(len(self)))]
        return self._record(range(len(self))[index])

    def _record(self, i: int) -> dict[str, Any]:
        return json.loads(self._data[self._starts[i] : self._ends[i]])


# --- the plug-in contract (closedloop/sandbox/vendors.py) ----------------------------------------------
def api(state: SandboxState) -> SapS4API:
    return SapS4API(state)


def source_config(base_url: str, creds: Credentials) -> dict[str, Any]:
    client_id, _ = creds.client(VENDOR)
    host = f"{base_url.rstrip('/')}/{VENDOR}"
    return {
        "transport": "api",
        "auth": "client_credentials",
        "base_url": host,
        "token_url": f"{host}/oauth/token",
        "client_id": client_id,
        "user": communication_user(creds)[0],
    }


def secrets(creds: Credentials) -> dict[str, str]:
    _, secret = creds.client(VENDOR)
    return {
        "CLOSEDLOOP_SAP_S4_CLIENT_SECRET": secret,
        "CLOSEDLOOP_SAP_S4_PASSWORD": communication_user(creds)[1],
    }


def bare_loop(client: httpx.Client, base_url: str, creds: Credentials) -> int:
    """A plain httpx loop over every entity set (Basic auth, `__next` to the end): the records read."""
    from collectors.sap_s4.streams import ENTITY_SETS

    auth = httpx.BasicAuth(*communication_user(creds))
    host = f"{base_url.rstrip('/')}/{VENDOR}{ROOT}"
    total = 0
    for e in ENTITY_SETS.values():
        url: str | None = f"{host}/{e.service}/{e.entity_set}?$format=json&$inlinecount=allpages"
        while url:
            r = client.get(url, auth=auth)
            if r.status_code == 404:
                break
            r.raise_for_status()
            d = r.json()["d"]
            total += len(d["results"])
            url = d.get("__next")
    return total
