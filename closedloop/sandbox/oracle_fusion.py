"""Oracle Fusion Cloud ERP / PPM on the sandbox: REST resources under /fscmRestApi/resources/<version>/.

Serves the rendered exports (exports/oracle_fusion/<stream>.jsonl) as Fusion does: limit/offset/hasMore/count
envelopes (limit capped at 500), onlyData, fields= (an unknown attribute is a 400 naming it), q= on
LastUpdateDate, orderBy, expand= of child resources (arrays before REST-Framework-Version 3, collection objects
from 3 on) and /<resource>/<id>/child/<child>. Auth: HTTP Basic as the integration user, or a bearer token from the
Oracle IAM token endpoint (client credentials, client authenticated by HTTP Basic). Error bodies are plain text,
or problem details JSON when the client accepts application/vnd.oracle.adf.error+json.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from closedloop.sandbox.data import read_jsonl
from closedloop.sandbox.state import Credentials, SandboxState, bearer, form_of, json_response
from collectors.http.cursor import parse_timestamp
from collectors.oracle_fusion.streams import API_VERSION, SPECS

VENDOR = "oracle_fusion"
ROOT = f"/fscmRestApi/resources/{API_VERSION}"
TOKEN_PATH = "/oauth2/v1/token"
ADF_ERROR = "application/vnd.oracle.adf.error+json"
MAX_LIMIT = 500
_Q = re.compile(r"^\s*LastUpdateDate\s*>\s*'([^']+)'\s*$")
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(status: int, code: str, message: str) -> dict[str, Any]:
    """Fusion's problem-details error body (vendor-apis.md §6b)."""
    return {
        "title": _TITLES.get(status, "Error"),
        "status": str(status),
        "o:errorDetails": [{"detail": message, "o:errorCode": code}],
    }


def _username() -> str:
    return "closedloop.integration"


class OracleFusionAPI:
    """Routes of the Fusion sandbox, as on the pod's host."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.resources = {spec[0].path: name for name, spec in SPECS.items() if not spec[0].child}
        self.children = {(spec[0].path, spec[0].child): name for name, spec in SPECS.items() if spec[0].child}
        self._listings: dict[tuple, list[dict[str, Any]]] = {}

    def routes(self) -> list[Route]:
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(ROOT + "/{resource}", self.collection, methods=["GET"]),
            Route(ROOT + "/{resource}/{item}/child/{child}", self.child, methods=["GET"]),
        ]

    # --- auth ------------------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        cid, secret = self.state.credentials.client(VENDOR)
        if _basic(request) != (cid, secret):
            body = {"error": "invalid_client", "error_description": "Client authentication failed."}
            return self.state.count(VENDOR, json_response(body, 401))
        if form.get("grant_type") != "client_credentials":
            body = {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            }
            return self.state.count(VENDOR, json_response(body, 400))
        token = self.state.tokens.issue(VENDOR, ttl=3600)
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        return self.state.count(VENDOR, json_response(doc))

    def _error(self, request: Request, status: int, code: str, message: str) -> Response:
        if ADF_ERROR in request.headers.get("accept", ""):
            return self.state.count(
                VENDOR,
                json_response(problem(status, code, message), status, headers={"Content-Type": ADF_ERROR}),
            )
        return self.state.count(VENDOR, PlainTextResponse(message, status_code=status))

    async def _guard(self, request: Request) -> Response | None:
        token, basic = bearer(request), _basic(request)
        ok = (token and self.state.tokens.valid(VENDOR, token)) or basic == (
            _username(),
            self.state.credentials.client(VENDOR)[1],
        )
        if not ok:
            return self._error(
                request, 401, "Unauthorized", "Authentication failed: invalid or expired credentials."
            )
        version = request.headers.get("rest-framework-version", "1")
        if version not in {str(v) for v in range(1, 10)}:
            return self._error(
                request,
                400,
                "InvalidFrameworkVersion",
                f"REST-Framework-Version {version} is not supported (allowed: 1-9).",
            )
        return await self.state.request_faults(VENDOR, problem, request)

    # --- data ------------------------------------------------------------------------------------
    def _rows(self, stream: str) -> list[dict[str, Any]]:
        def load() -> list[dict[str, Any]]:
            path = self.state.exports.root / VENDOR / f"{stream}.jsonl"
            return list(read_jsonl(path)) if path.is_file() else []

        return self.state.exports._once((VENDOR, stream), load)

    def _by_parent(self, stream: str, key: str) -> dict[Any, list[dict[str, Any]]]:
        rows = self._rows(stream)  # outside the loader: the exports cache's lock is not reentrant

        def load() -> dict[Any, list[dict[str, Any]]]:
            out: dict[Any, list[dict[str, Any]]] = {}
            for r in rows:
                out.setdefault(r.get(key), []).append({k: v for k, v in r.items() if k != key})
            return out

        return self.state.exports._once((VENDOR, f"{stream}#by-parent"), load)

    def _drift(self, stream: str, record: dict[str, Any]) -> dict[str, Any]:
        for fault in self.state.faults.standing(VENDOR, "drift", stream):
            if fault.field in record:
                record = dict(record)
                value = record.pop(fault.field)
                if fault.to:
                    record[fault.to] = value
        return record

    def _attributes(self, stream: str) -> set[str]:
        """What the resource has: its rendered attributes, less those a drift fault renamed or dropped."""
        attrs = {c for c in self._spec_columns(stream)}
        for fault in self.state.faults.standing(VENDOR, "drift", stream):
            attrs.discard(fault.field)
            if fault.to:
                attrs.add(fault.to)
        return attrs

    def _spec_columns(self, stream: str) -> list[str]:
        rows = self._rows(stream)
        return list(rows[0]) if rows else []

    async def collection(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied is not None:
            return denied
        path = request.path_params["resource"]
        stream = self.resources.get(path)
        if stream is None:
            return self._error(request, 404, "NotFound", f"The requested resource {path} was not found.")
        p = request.query_params
        rows = self._rows(stream)
        q = p.get("q")
        if q:
            m = _Q.match(q)
            since = parse_timestamp(m.group(1)) if m else None
            if since is None:
                return self._error(request, 400, "InvalidQuery", f"The query expression {q} is not valid.")
            rows = [r for r in rows if (parse_timestamp(r.get("LastUpdateDate")) or since) > since]
        expand = p.get("expand")
        child_stream = self.children.get((path, expand)) if expand else None
        if expand and child_stream is None:
            return self._error(
                request, 400, "InvalidExpand", f"The child resource {expand} of {path} is not valid."
            )
        fields, child_fields = p.get("fields"), None
        if fields and ";" in fields:  # 'ParentAttr;child:AttrA,AttrB'
            fields, _, rest = fields.partition(";")
            _, _, child_fields = rest.partition(":")
        bad = self._unknown(stream, fields) or (child_stream and self._unknown(child_stream, child_fields))
        if bad:
            return self._error(
                request, 400, "InvalidAttribute", f"The attribute {bad} is not valid for {path}."
            )
        key = (stream, q, p.get("orderBy"))
        if key not in self._listings:  # pages of one listing share its filtered, ordered rows
            while len(self._listings) > 32:
                self._listings.pop(next(iter(self._listings)))
            self._listings[key] = _ordered(rows, p.get("orderBy"))
        rows = self._listings[key]
        return self._page(request, rows, stream, fields, child_stream, child_fields)

    async def child(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied is not None:
            return denied
        path, item, child = (request.path_params[k] for k in ("resource", "item", "child"))
        stream = self.children.get((path, child))
        if stream is None:
            return self._error(
                request, 404, "NotFound", f"The child resource {child} of {path} was not found."
            )
        key = SPECS[stream][0].parent_key or ""
        rows = self._by_parent(stream, key).get(item) or []
        fields = request.query_params.get("fields")
        bad = self._unknown(stream, fields)
        if bad:
            return self._error(
                request, 400, "InvalidAttribute", f"The attribute {bad} is not valid for {child}."
            )
        return self._page(request, rows, stream, fields, None, None)

    def _unknown(self, stream: str, fields: str | None) -> str | None:
        if not fields or not self._rows(stream):  # an empty export says nothing of the resource's attributes
            return None
        attrs = self._attributes(stream) | {SPECS[stream][0].parent_key or ""}
        return next((f for f in fields.split(",") if f and f not in attrs), None)

    def _page(
        self,
        request: Request,
        rows: list,
        stream: str,
        fields: str | None,
        child: str | None,
        child_fields: str | None,
    ) -> Response:
        p = request.query_params
        try:
            limit = int(p.get("limit", "25"))
            offset = int(p.get("offset", "0"))
        except ValueError:
            return self._error(request, 400, "InvalidParameter", "limit and offset must be integers.")
        if limit < 1 or offset < 0:
            return self._error(
                request, 400, "InvalidParameter", "limit must be positive and offset not negative."
            )
        limit = min(limit, MAX_LIMIT)
        start = offset
        if offset and self.state.faults.standing(VENDOR, "duplicates", stream):
            start -= 1  # rows updated while paging shift the order: the previous page's last item repeats
        chunk = rows[start : offset + limit]
        version = int(request.headers.get("rest-framework-version", "1"))
        items = [self._item(r, stream, fields, child, child_fields, version) for r in chunk]
        doc: dict[str, Any] = {
            "items": items,
            "count": len(items),
            "hasMore": offset + limit < len(rows),
            "limit": limit,
            "offset": offset,
        }
        if p.get("totalResults") == "true":
            doc["totalResults"] = len(rows)
        if p.get("onlyData") != "true":
            doc["links"] = [{"rel": "self", "href": str(request.url), "name": stream, "kind": "collection"}]
        return self.state.finish(VENDOR, json_response(doc))

    def _item(self, row, stream, fields, child, child_fields, version) -> dict[str, Any]:
        row = self._drift(stream, row)
        item = {k: row.get(k) for k in fields.split(",")} if fields else dict(row)
        if child:
            key = SPECS[child][0].parent_key or ""
            kids = [self._drift(child, k) for k in self._by_parent(child, key).get(row.get(key)) or []]
            if child_fields:
                kids = [{f: k.get(f) for f in child_fields.split(",")} for k in kids]
            name = SPECS[child][0].child or child
            item[name] = (
                kids
                if version < 3
                else {"items": kids, "count": len(kids), "hasMore": False, "limit": len(kids), "offset": 0}
            )
        return item


def _ordered(rows: list[dict[str, Any]], order_by: str | None) -> list[dict[str, Any]]:
    if not order_by:
        return rows
    attr, _, direction = order_by.partition(":")
    return sorted(
        rows, key=lambda r: (r.get(attr) is None, str(r.get(attr) or "")), reverse=direction == "desc"
    )


def _basic(request: Request) -> tuple[str, str] | None:
    value = request.headers.get("authorization", "")
    if value[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(value[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def api(state: SandboxState) -> OracleFusionAPI:
    return OracleFusionAPI(state)


def source_config(base_url: str, creds: Credentials) -> dict[str, Any]:
    """[sources.oracle_fusion] for the sandbox: OAuth client credentials against its token endpoint."""
    host = f"{base_url}/{VENDOR}"
    return {
        "transport": "api",
        "auth": "client_credentials",
        "base_url": host,
        "token_url": host + TOKEN_PATH,
        "client_id": creds.client(VENDOR)[0],
        "username": _username(),
    }


def secrets(creds: Credentials) -> dict[str, str]:
    """The client secret doubles as the integration user's password (auth = 'basic')."""
    secret = creds.client(VENDOR)[1]
    return {"CLOSEDLOOP_ORACLE_FUSION_CLIENT_SECRET": secret, "CLOSEDLOOP_ORACLE_FUSION_PASSWORD": secret}


def bare_loop(client: httpx.Client, base_url: str, creds: Credentials) -> int:
    """A plain httpx loop over the same pages (Basic auth, limit 500): the records read, for the bench."""
    cid, secret = _username(), creds.client(VENDOR)[1]
    headers = {"REST-Framework-Version": "4"}
    total = 0
    for res, key, _std, _flex in SPECS.values():
        if res.child:
            continue
        offset = 0
        while True:
            r = client.get(
                f"{base_url}/{VENDOR}{ROOT}/{res.path}",
                auth=(cid, secret),
                headers=headers,
                params={"limit": MAX_LIMIT, "offset": offset, "onlyData": "true", "orderBy": f"{key}:asc"},
            )
            r.raise_for_status()
            doc = r.json()
            total += len(doc["items"])
            if not doc["hasMore"]:
                break
            offset += len(doc["items"])
    return total
