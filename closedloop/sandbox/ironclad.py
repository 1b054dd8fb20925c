"""Ironclad on the sandbox: OAuth client credentials, /records (+ metadata) and /workflows, page/pageSize."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from closedloop.sandbox.state import SandboxState, bearer, form_of, json_response, unauthorized
from collectors.http.cursor import parse_timestamp

VENDOR = "ironclad"
BASE = "/public/api/v1"
_EPOCH = -1e18


def error(status: int, code: str, message: str) -> dict[str, Any]:
    """Ironclad's error body is not publicly documented: a plain {code, message} object (vendor-apis.md §4)."""
    return {"code": code, "message": message, "status": status}


class IroncladAPI:
    """Routes of the Ironclad sandbox; every data call needs a token and the user it acts as."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._results: dict[tuple, list[dict[str, Any]]] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", self.token, methods=["POST"]),
            Route(f"{BASE}/records/metadata", self.metadata, methods=["GET"]),
            Route(f"{BASE}/records", self.records, methods=["GET"]),
            Route(f"{BASE}/workflows", self.workflows, methods=["GET"]),
        ]

    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        creds = self.state.credentials
        if form.get("grant_type") != "client_credentials":
            return self._oauth_error("unsupported_grant_type", "grant_type must be client_credentials")
        if (form.get("client_id"), form.get("client_secret")) != (
            creds.ironclad_client_id,
            creds.ironclad_client_secret,
        ):
            return self._oauth_error("invalid_client", "client authentication failed")
        scope = form.get("scope", "")
        token = self.state.tokens.issue(VENDOR, ttl=3600)
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": scope}
        return self.state.count(VENDOR, json_response(doc))

    def _oauth_error(self, code: str, description: str) -> Response:
        status = 401 if code == "invalid_client" else 400
        return self.state.count(
            VENDOR, json_response({"error": code, "error_description": description}, status)
        )

    async def _guard(self, request: Request) -> Response | None:
        token = bearer(request)
        if not token or not self.state.tokens.valid(VENDOR, token):
            return self.state.count(VENDOR, unauthorized(VENDOR, error))
        if not (request.headers.get("x-as-user-email") or request.headers.get("x-as-user-id")):
            body = error(403, "FORBIDDEN", "client credentials tokens must name a user: x-as-user-email")
            return self.state.count(VENDOR, json_response(body, 403))
        return await self.state.request_faults(VENDOR, error, request)

    async def metadata(self, request: Request) -> Response:
        return await self._guard(request) or self.state.finish(
            VENDOR, json_response(self.state.exports.ironclad_metadata())
        )

    async def records(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied is not None:
            return denied
        p = request.query_params
        types = {t for t in p.get("types", "").split(",") if t}
        stream = next(iter(types)) if len(types) == 1 else ""
        key = (p.get("types", ""), p.get("lastUpdated"), p.get("sortField"), p.get("sortDirection"))
        if key not in self._results:  # pages of one listing share its filtered, sorted result
            while len(self._results) > 64:
                self._results.pop(next(iter(self._results)))
            self._results[key] = self._select(types, key[1], key[2], key[3] == "DESC")
        return self._page(request, self._results[key], stream)

    def _select(self, types: set[str], last_updated: str | None, field: str | None, desc: bool) -> list:
        rows = [r for r in self.state.exports.ironclad_records() if not types or r.get("type") in types]
        since = parse_timestamp(last_updated) if last_updated else None
        if since is not None:
            rows = [r for r in rows if (parse_timestamp(r.get("lastUpdated")) or since) >= since]
        if field:
            rows = sorted(rows, key=lambda r: _sort_value(r.get(field)), reverse=desc)
        return rows

    async def workflows(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied is not None:
            return denied
        status = request.query_params.get("status", "active")  # the API's default: active only
        rows = [w for w in self.state.exports.ironclad_workflows() if w.get("status") == status]
        return self._page(request, rows, "workflows")

    def _page(self, request: Request, rows: list[dict[str, Any]], stream: str) -> Response:
        try:
            page = int(request.query_params.get("page", "0"))
            size = int(request.query_params.get("pageSize", "20"))
        except ValueError:
            body = error(400, "BAD_REQUEST", "page and pageSize must be integers")
            return self.state.count(VENDOR, json_response(body, 400))
        size = max(1, min(size, self.state.caps.ironclad, 100))
        start = page * size
        if page and self.state.faults.standing(VENDOR, "duplicates", stream):
            start -= 1  # records updated while paging shift the sort order: one repeats
        chunk = [self._drifted(r, stream) for r in rows[max(0, start) : (page + 1) * size]]
        doc = {"page": page, "pageSize": size, "count": len(rows), "list": chunk}
        return self.state.finish(VENDOR, json_response(doc))

    def _drifted(self, record: dict[str, Any], stream: str) -> dict[str, Any]:
        """A renamed (or dropped) property or top-level field, as a tenant admin's edit would leave it."""
        for fault in self.state.faults.standing(VENDOR, "drift", stream):
            props = record.get("properties")
            if fault.field in record:
                record = dict(record)
                value = record.pop(fault.field)
                if fault.to:
                    record[fault.to] = value
            elif isinstance(props, dict) and fault.field in props:
                props = dict(props)
                value = props.pop(fault.field)
                if fault.to:
                    props[fault.to] = value
                record = {**record, "properties": props}
        return record


def _sort_value(value: Any) -> tuple:
    when = parse_timestamp(value) if isinstance(value, str) else None
    return (0, _EPOCH) if when is None else (1, when.timestamp())
