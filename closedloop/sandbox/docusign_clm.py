"""DocuSign Navigator on the sandbox: the JWT grant at /oauth/token and GET /v1/accounts/{accountId}/agreements
with `limit` + `ctoken` continuation paging (`_links.next.href`), X-RateLimit-* headers and {error, code,
timestamp} error bodies, as the published Agreements API OpenAPI describes them."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from closedloop.sandbox.data import read_jsonl
from closedloop.sandbox.state import Credentials, SandboxState, bearer, form_of, json_response, unauthorized
from collectors.auth import JWT_BEARER

VENDOR = "docusign_clm"
ACCOUNT_ID = "5f1c1d2e-0000-4000-8000-00000000d0c5"
USER_ID = "9a8b7c6d-0000-4000-8000-0000000005e7"
MAX_LIMIT = 100
HOURLY_LIMIT = 3000  # DocuSign's default: 3,000 calls per account per hour


def error(status: int, code: str, message: str) -> dict[str, Any]:
    """Navigator's Error schema: {error, code (the HTTP status), timestamp}; `code` the caller passes is dropped."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"error": message, "code": status, "timestamp": stamp}


def _ctoken(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    pad = "=" * (-len(token) % 4)
    value = json.loads(base64.urlsafe_b64decode(token + pad))["o"]
    if not isinstance(value, int) or value < 0:
        raise ValueError("bad offset")
    return value


class NavigatorAPI:
    """Routes as on api-d.docusign.com and account-d.docusign.com (the sandbox mounts both under /docusign_clm)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.calls = 0

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/v1/accounts/{account_id}/agreements", self.agreements, methods=["GET"]),
        ]

    def _records(self) -> list[dict[str, Any]]:
        path = self.state.exports.root / VENDOR / "agreements.jsonl"
        return self.state.exports._once(
            (VENDOR, "agreements"), lambda: list(read_jsonl(path)) if path.is_file() else []
        )

    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        if form.get("grant_type") != JWT_BEARER:
            return self._oauth_error("unsupported_grant_type")
        problem = self._check_assertion(form.get("assertion", ""), request)
        if problem:
            return self._oauth_error(problem)
        token = self.state.tokens.issue(VENDOR, prefix="eyJ0eXAiOiJNVCJ9.", ttl=3600)
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        return self.state.count(VENDOR, json_response(doc))

    def _check_assertion(self, assertion: str, request: Request) -> str | None:
        """The JWT grant's checks: RS256 signature, iss = integration key, sub = a user, aud = this host."""
        creds = self.state.credentials
        try:
            if creds.public_key_pem:
                claims = jwt.decode(
                    assertion,
                    creds.public_key_pem,
                    algorithms=["RS256"],
                    options={"verify_aud": False, "require": ["exp", "iat", "iss", "sub", "aud"]},
                )
            else:
                claims = jwt.decode(assertion, options={"verify_signature": False, "require": ["exp"]})
        except jwt.PyJWTError:
            return "no_valid_keys_or_signatures"
        if claims.get("iss") != creds.client(VENDOR)[0]:
            return "invalid_grant"  # DocuSign: unknown integration key
        if claims.get("sub") != USER_ID:
            return "invalid_grant"
        if claims.get("aud") != request.url.netloc:
            return "invalid_grant"
        if int(claims["exp"]) > time.time() + 3600 + 60:
            return "invalid_grant"
        return None

    def _oauth_error(self, code: str) -> Response:
        return self.state.count(VENDOR, json_response({"error": code}, 400))

    async def agreements(self, request: Request) -> Response:
        token = bearer(request)
        if not token or not self.state.tokens.valid(VENDOR, token):
            return self.state.count(VENDOR, unauthorized(VENDOR, error))
        fault = await self.state.request_faults(VENDOR, error, request)
        if fault is not None:
            return fault
        if request.path_params["account_id"] != ACCOUNT_ID:
            body = error(404, "", f"Account {request.path_params['account_id']} not found.")
            return self.state.count(VENDOR, json_response(body, 404))
        p = request.query_params
        try:
            limit = int(p.get("limit", "25"))
            start = _offset(p["ctoken"]) if p.get("ctoken") else 0
        except (ValueError, KeyError, json.JSONDecodeError):
            body = error(400, "", "Invalid limit or ctoken.")
            return self.state.count(VENDOR, json_response(body, 400))
        limit = max(1, min(limit, MAX_LIMIT))
        rows = self._records()
        chunk = [self._drifted(r) for r in rows[start : start + limit]]
        nxt = start + limit
        if self.state.faults.standing(VENDOR, "duplicates", "agreements"):
            nxt -= 1  # an agreement modified while paging moves in the order: one repeats on the next page
        links: dict[str, Any] = {
            "first": {"href": str(request.url.remove_query_params("ctoken"))},
            "self": {"href": str(request.url)},
        }
        if start + limit < len(rows):
            links["next"] = {"href": str(request.url.include_query_params(limit=limit, ctoken=_ctoken(nxt)))}
        now = dt.datetime.now(dt.UTC)
        doc = {
            "data": chunk,
            "response_metadata": {
                "page_limit": limit,
                "request_id": f"sandbox-{self.state.requests[VENDOR]}",
                "response_timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "response_duration_ms": 1,
            },
            "_links": links,
        }
        self.calls += 1
        reset = (now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)).timestamp()
        headers = {
            "X-RateLimit-Limit": str(HOURLY_LIMIT),
            "X-RateLimit-Remaining": str(max(0, HOURLY_LIMIT - self.calls)),
            "X-RateLimit-Reset": str(int(reset)),
        }
        return self.state.finish(VENDOR, json_response(doc, headers=headers))

    def _drifted(self, record: dict[str, Any]) -> dict[str, Any]:
        """A field the account renamed or dropped: top level, a standard provision or a custom provision."""
        for fault in self.state.faults.standing(VENDOR, "drift", "agreements"):
            record = dict(record)
            for holder in (None, "provisions", "custom_provisions"):
                target = record if holder is None else record.get(holder)
                if isinstance(target, dict) and fault.field in target:
                    target = dict(target)
                    value = target.pop(fault.field)
                    if fault.to:
                        target[fault.to] = value
                    record = target if holder is None else {**record, holder: target}
        return record


def api(state: SandboxState) -> NavigatorAPI:
    return NavigatorAPI(state)


def source_config(base_url: str, creds: Credentials) -> dict[str, Any]:
    host = f"{base_url.rstrip('/')}/{VENDOR}"
    return {
        "transport": "api",
        "base_url": host,
        "token_url": f"{host}/oauth/token",
        "account_id": ACCOUNT_ID,
        "integration_key": creds.client(VENDOR)[0],
        "user_id": USER_ID,
    }


def secrets(creds: Credentials) -> dict[str, str]:
    return {"CLOSEDLOOP_DOCUSIGN_CLM_PRIVATE_KEY": creds.private_key_pem} if creds.private_key_pem else {}


def bare_loop(client: httpx.Client, base_url: str, creds: Credentials) -> int:
    """A plain loop over the same pages: one JWT grant, then follow _links.next.href to the end."""
    host = f"{base_url.rstrip('/')}/{VENDOR}"
    now = int(time.time())
    claims = {
        "iss": creds.client(VENDOR)[0],
        "sub": USER_ID,
        "aud": httpx.URL(host).netloc.decode(),
        "scope": "signature impersonation",
        "iat": now,
        "exp": now + 3600,
    }
    assertion = jwt.encode(claims, creds.private_key_pem or "", algorithm="RS256")
    tok = client.post(f"{host}/oauth/token", data={"grant_type": JWT_BEARER, "assertion": assertion})
    headers = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    url: str | None = f"{host}/v1/accounts/{ACCOUNT_ID}/agreements?limit={MAX_LIMIT}"
    n = 0
    while url:
        doc = client.get(url, headers=headers).json()
        n += len(doc["data"])
        url = (doc.get("_links", {}).get("next") or {}).get("href")
    return n
