"""The Dataverse Web API on the sandbox, for both Dynamics kinds: Entra ID v2.0 client-credentials tokens
(AADSTS error bodies), entity sets with $select, $filter on modifiedon, Prefer odata.maxpagesize and
@odata.nextLink ($skiptoken), option-set labels only when asked for, OData error bodies, 429 with the
service-protection code 0x80072322 and Retry-After."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from closedloop.sandbox.data import read_jsonl
from closedloop.sandbox.state import Credentials, SandboxState, bearer, form_of, json_response
from collectors.http.cursor import parse_timestamp

API = "/api/data/v9.2"
TENANT = "closedloop-sandbox.onmicrosoft.com"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
_FILTER = re.compile(r"^\s*modifiedon\s+(gt|ge)\s+(\S+)\s*$")
_CODES = {  # the Dataverse error codes the sandbox's faults answer with
    429: ("0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."),
    401: (
        "0x80040220",
        "Principal user is missing prvRead privilege or the access token is invalid or expired.",
    ),
}


def error(status: int, code: str, message: str) -> dict[str, Any]:
    """Dataverse's OData error body: {"error": {"code": "0x...", "message": ...}}."""
    known = _CODES.get(status)
    if known and code in ("REQUEST_LIMIT_EXCEEDED", "UNAUTHORIZED"):
        code, message = known
    elif not code.startswith("0x"):
        code = "0x80040216" if status >= 500 else "0x80048d19"  # generic platform / bad request
    return {"error": {"code": code, "message": message}}


def _aadsts(status: int, name: str, code: int, text: str) -> Response:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": name,
        "error_description": f"AADSTS{code}: {text} Trace ID: 0 Correlation ID: 0 Timestamp: {now}",
        "error_codes": [code],
        "timestamp": now,
    }
    return json_response(body, status)


class DataverseAPI:
    """One Dataverse environment (a kind's exports) behind one Entra ID tenant."""

    def __init__(self, kind: str, state: SandboxState) -> None:
        self.kind, self.state = kind, state
        self._rows: dict[str, list[dict[str, Any]] | None] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
            Route(API + "/{entity_set}", self.collection, methods=["GET"]),
        ]

    def _root(self) -> Path:
        return self.state.exports.root / self.kind

    def rows(self, entity_set: str) -> list[dict[str, Any]] | None:
        with self._lock:
            if entity_set not in self._rows:
                path = self._root() / f"{entity_set}.jsonl"
                self._rows[entity_set] = list(read_jsonl(path)) if path.is_file() else None
            return self._rows[entity_set]

    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        cid, secret = self.state.credentials.client(self.kind)
        if form.get("grant_type") != "client_credentials":
            resp = _aadsts(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        elif form.get("client_id") != cid:
            resp = _aadsts(400, "unauthorized_client", 700016, "Application not found in the directory.")
        elif form.get("client_secret") != secret:
            resp = _aadsts(401, "invalid_client", 7000215, "Invalid client secret provided.")
        elif not form.get("scope", "").endswith("/.default"):
            resp = _aadsts(400, "invalid_scope", 1002012, "The provided value for scope is not valid.")
        else:
            token = self.state.tokens.issue(self.kind, prefix="eyJ0eXAiOiJKV1Qi.", ttl=3599)
            doc = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
            resp = json_response(doc)
        return self.state.count(self.kind, resp)

    async def collection(self, request: Request) -> Response:
        token = bearer(request)
        if not token or not self.state.tokens.valid(self.kind, token):
            body = error(401, "UNAUTHORIZED", "")
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return self.state.count(self.kind, json_response(body, 401, headers))
        fault = await self.state.request_faults(self.kind, error, request)
        if fault is not None:
            return fault
        entity_set = request.path_params["entity_set"]
        rows = self.rows(entity_set)
        if rows is None:
            body = error(404, "0x80060888", f"Resource not found for the segment '{entity_set}'.")
            return self.state.count(self.kind, json_response(body, 404))
        p = request.query_params
        try:
            chosen = self._select(rows, p.get("$filter"))
        except ValueError as exc:
            return self.state.count(self.kind, json_response(error(400, "0x80060888", str(exc)), 400))
        fields = [f for f in (p.get("$select") or "").split(",") if f]
        known = set().union(*(r.keys() for r in rows[:200])) if rows else set()
        unknown = [f for f in fields if known and f not in known]
        if unknown:
            msg = f"Could not find a property named '{unknown[0]}' on type 'Microsoft.Dynamics.CRM.{entity_set}'."
            return self.state.count(self.kind, json_response(error(400, "0x80060888", msg), 400))
        prefer = request.headers.get("prefer", "")
        size = _max_page_size(prefer)
        labels = "OData.Community.Display.V1.FormattedValue" in prefer or 'include-annotations="*"' in prefer
        start = int(p.get("$skiptoken") or 0)
        if start and self.state.faults.standing(self.kind, "duplicates", entity_set):
            start -= 1  # rows modified while paging move the page boundary: one row comes twice
        page = [self._shape(r, fields, labels, entity_set) for r in chosen[start : start + size]]
        doc: dict[str, Any] = {
            "@odata.context": f"{request.base_url}{API.lstrip('/')}/$metadata#{entity_set}"
        }
        doc["value"] = page
        if start + size < len(chosen):
            query = dict(p) | {"$skiptoken": str(start + size)}
            doc["@odata.nextLink"] = f"{str(request.url).split('?')[0]}?{urllib.parse.urlencode(query)}"
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if "maxpagesize" in prefer else None
        return self.state.finish(self.kind, json_response(doc, headers=headers))

    def _select(self, rows: list[dict[str, Any]], filt: str | None) -> list[dict[str, Any]]:
        if not filt:
            return rows
        m = _FILTER.match(filt)
        since = parse_timestamp(m[2]) if m else None
        if since is None:
            raise ValueError(
                f"The sandbox supports $filter=modifiedon gt <DateTimeOffset> only, got {filt!r}."
            )
        strict = m[1] == "gt"
        out = []
        for r in rows:
            when = parse_timestamp(r.get("modifiedon"))
            if when is not None and (when > since or (not strict and when == since)):
                out.append(r)
        return out

    def _shape(self, row: dict[str, Any], fields: list[str], labels: bool, entity_set: str) -> dict[str, Any]:
        out = {"@odata.etag": row.get("@odata.etag")}
        keep = fields or [k for k in row if "@" not in k]
        pk = next((k for k in row if k.endswith("id") and not k.startswith("_")), None)
        for name in dict.fromkeys([*([pk] if pk else []), *keep]):
            if name in row:
                out[name] = row[name]
                if labels and name + FORMATTED in row:
                    out[name + FORMATTED] = row[name + FORMATTED]
        for fault in self.state.faults.standing(self.kind, "drift", entity_set):
            if fault.field in out:
                value = out.pop(fault.field)
                if fault.to:
                    out[fault.to] = value
        return out


def _max_page_size(prefer: str) -> int:
    m = re.search(r"odata\.maxpagesize=(\d+)", prefer)
    return max(1, min(int(m[1]), 5000)) if m else 5000


def source_config(kind: str, base_url: str, creds: Credentials) -> dict[str, Any]:
    return {
        "transport": "api",
        "org_url": f"{base_url}/{kind}",
        "tenant_id": TENANT,
        "token_url": f"{base_url}/{kind}/{{tenant}}/oauth2/v2.0/token",
        "client_id": creds.client(kind)[0],
    }


def secrets(kind: str, creds: Credentials) -> dict[str, str]:
    return {f"CLOSEDLOOP_{kind.upper()}_CLIENT_SECRET": creds.client(kind)[1]}


def bare_loop(
    kind: str, entity_sets: list[str], client: httpx.Client, base_url: str, creds: Credentials
) -> int:
    """A plain httpx loop over the same pages the collector reads (token, then each set to its last nextLink)."""
    cid, secret = creds.client(kind)
    form = {"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}
    form["scope"] = f"{base_url}/{kind}/.default"
    token = client.post(f"{base_url}/{kind}/{TENANT}/oauth2/v2.0/token", data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Prefer": "odata.maxpagesize=5000"}
    total = 0
    for entity_set in entity_sets:
        url: str | None = f"{base_url}/{kind}{API}/{entity_set}"
        while url:
            r = client.get(url, headers=headers)
            if r.status_code == 404:
                break
            doc = json.loads(r.content)
            total += len(doc["value"])
            url = doc.get("@odata.nextLink")
    return total
