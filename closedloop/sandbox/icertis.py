"""An Icertis-like tenant on the sandbox: an Entra ID style client-credentials token endpoint and
GET /api/v1/agreements/{contractType}?skip=&top= answering {"Data": [...], "TotalCount": n}, served from the
tenant's CSV exports (numbers, booleans typed where the attribute is a known one). Icertis publishes no API
contract: this is the shape the generic REST source is configured for, not a vendor specification."""

from __future__ import annotations

import csv
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from closedloop.sandbox.state import Credentials, SandboxState, bearer, form_of, json_response, unauthorized
from collectors.icertis.streams import FIELDS

VENDOR = "icertis"
MAX_TOP = 500
_TYPES = {name: raw for name, raw in FIELDS.values()}  # default attribute name -> raw type


def error(status: int, code: str, message: str) -> dict[str, Any]:
    """An ASP.NET / OData style error object, what a Microsoft-hosted tenant API answers."""
    return {"error": {"code": code or str(status), "message": message}}


def _typed(name: str, text: str) -> Any:
    if text == "":
        return None
    kind = _TYPES.get(name, "VARCHAR")
    if kind == "BOOLEAN":
        return text == "true"
    if kind == "BIGINT":
        return int(text)
    if kind in ("DOUBLE", "DECIMAL(18,2)"):
        return float(text)
    return text


class IcertisAPI:
    """Routes of the tenant (mounted under /icertis)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/oauth2/v2.0/token", self.token, methods=["POST"]),
            Route("/api/v1/agreements/{contract_type}", self.agreements, methods=["GET"]),
        ]

    def _rows(self, contract_type: str) -> list[dict[str, Any]] | None:
        path = self.state.exports.root / VENDOR / f"{contract_type}.csv"
        if not path.is_file():
            return None

        def load() -> list[dict[str, Any]]:
            with path.open(newline="", encoding="utf-8") as fh:
                return [{k: _typed(k, v) for k, v in row.items()} for row in csv.DictReader(fh)]

        return self.state.exports._once((VENDOR, contract_type), load)

    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        client_id, secret = self.state.credentials.client(VENDOR)
        if form.get("grant_type") != "client_credentials":
            body = {
                "error": "unsupported_grant_type",
                "error_description": "AADSTS70003: grant type not supported.",
            }
            return self.state.count(VENDOR, json_response(body, 400))
        if (form.get("client_id"), form.get("client_secret")) != (client_id, secret):
            body = {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
            return self.state.count(VENDOR, json_response(body, 401))
        token = self.state.tokens.issue(VENDOR, ttl=3599)
        doc = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        return self.state.count(VENDOR, json_response(doc))

    async def agreements(self, request: Request) -> Response:
        token = bearer(request)
        if not token or not self.state.tokens.valid(VENDOR, token):
            return self.state.count(VENDOR, unauthorized(VENDOR, error))
        fault = await self.state.request_faults(VENDOR, error, request)
        if fault is not None:
            return fault
        ctype = request.path_params["contract_type"]
        rows = self._rows(ctype)
        if rows is None:
            body = error(404, "NotFound", f"Contract type '{ctype}' does not exist in this tenant.")
            return self.state.count(VENDOR, json_response(body, 404))
        try:
            skip = int(request.query_params.get("skip", "0"))
            top = int(request.query_params.get("top", "50"))
            if skip < 0 or top < 1:
                raise ValueError
        except ValueError:
            body = error(400, "BadRequest", "skip and top must be non-negative integers (top at least 1).")
            return self.state.count(VENDOR, json_response(body, 400))
        top = min(top, MAX_TOP)
        start = skip
        if skip and self.state.faults.standing(VENDOR, "duplicates", ctype):
            start -= 1  # a record changed while paging shifts the order: one repeats
        chunk = [self._drifted(r, ctype) for r in rows[start : skip + top]]
        return self.state.finish(VENDOR, json_response({"Data": chunk, "TotalCount": len(rows)}))

    def _drifted(self, record: dict[str, Any], ctype: str) -> dict[str, Any]:
        for fault in self.state.faults.standing(VENDOR, "drift", ctype):
            if fault.field in record:
                record = dict(record)
                value = record.pop(fault.field)
                if fault.to:
                    record[fault.to] = value
        return record


def api(state: SandboxState) -> IcertisAPI:
    return IcertisAPI(state)


def source_config(base_url: str, creds: Credentials) -> dict[str, Any]:
    host = f"{base_url.rstrip('/')}/{VENDOR}"
    return {
        "transport": "api",
        "base_url": host,
        "auth": "client_credentials",
        "token_url": f"{host}/oauth2/v2.0/token",
        "client_id": creds.client(VENDOR)[0],
        "scope": "api://icertis/.default",
    }


def secrets(creds: Credentials) -> dict[str, str]:
    return {"CLOSEDLOOP_ICERTIS_CLIENT_SECRET": creds.client(VENDOR)[1]}


def bare_loop(client: httpx.Client, base_url: str, creds: Credentials) -> int:
    """A plain loop: one token, then skip/top pages of every contract type until TotalCount."""
    host = f"{base_url.rstrip('/')}/{VENDOR}"
    cid, secret = creds.client(VENDOR)
    form = {"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}
    token = client.post(f"{host}/oauth2/v2.0/token", data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    n = 0
    for ctype in ("ICMMSA", "ICMSOW", "ICMAmendment", "ICMRateCard", "ICMMilestone"):
        skip = 0
        while True:
            r = client.get(
                f"{host}/api/v1/agreements/{ctype}", params={"skip": skip, "top": 100}, headers=headers
            )
            if r.status_code == 404:
                break
            doc = r.json()
            n += len(doc["Data"])
            skip += len(doc["Data"])
            if not doc["Data"] or skip >= doc["TotalCount"]:
                break
    return n
