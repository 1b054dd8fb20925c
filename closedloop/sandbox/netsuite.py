"""NetSuite on the sandbox: the M2M token endpoint, OAuth 1.0a TBA, and SuiteQL with limit/offset paging."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import httpx
import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from closedloop.sandbox.state import SandboxState, bearer, form_of, json_response, unauthorized
from closedloop.sandbox.suiteql import SuiteQL, SuiteQLError
from collectors.auth import CLIENT_ASSERTION, netsuite_realm
from collectors.http.oauth1 import oauth1_base_string, oauth1_signature

VENDOR = "netsuite"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
MAX_ROWS = 100_000  # REST SuiteQL serves at most this many rows of one query
PERMISSION_VIOLATION = (
    "Permission Violation: You need the 'Lists -> Custom Record Entries' permission to access this page."
    " Please contact your account administrator."
)
_ALGORITHMS = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
TBA_WINDOW_SECONDS = 300  # an OAuth 1.0a timestamp further than this from the server's clock is refused


def error(status: int, code: str, message: str) -> dict[str, Any]:
    """NetSuite REST errors: RFC 7807-ish with o:errorDetails."""
    titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}
    return {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15",
        "title": titles.get(status, "Internal Server Error" if status >= 500 else "Error"),
        "status": status,
        "o:errorDetails": [{"detail": message, "o:errorCode": code}],
    }


class NetSuiteAPI:
    """Routes of the NetSuite sandbox; SuiteQL results are computed once per query and paged from memory."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.engine = SuiteQL(state.exports.root / "netsuite")
        self._nonces: set[tuple[str, str]] = set()  # (timestamp, nonce) pairs already used: replays fail

    def routes(self) -> list[Route]:
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(SUITEQL_PATH, self.suiteql, methods=["POST"]),
        ]

    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type") != CLIENT_ASSERTION
        ):
            return self._oauth_error(
                "invalid_request", "expected client_credentials with a JWT client assertion"
            )
        problem = self._check_assertion(form.get("client_assertion", ""))
        if problem:
            return self._oauth_error("invalid_grant", problem)
        token = self.state.tokens.issue(VENDOR, prefix="eyJ", ttl=3600)
        return self.state.count(
            VENDOR, json_response({"access_token": token, "expires_in": "3600", "token_type": "Bearer"})
        )

    def _check_assertion(self, assertion: str) -> str | None:
        """Signature against the configured certificate's public key when there is one; header and claims always."""
        creds = self.state.credentials
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("alg") not in _ALGORITHMS:
                return f"unsupported algorithm {header.get('alg')!r} (PS256/384/512, ES256/384/512)"
            if header.get("kid") != creds.netsuite_certificate_id:
                return "unknown certificate id (kid)"
            options = {"verify_aud": False, "require": ["iss", "aud", "iat", "exp", "scope"]}
            if creds.public_key_pem:
                claims = jwt.decode(
                    assertion, creds.public_key_pem, algorithms=[header["alg"]], options=options
                )
            else:
                claims = jwt.decode(assertion, options={**options, "verify_signature": False})
        except jwt.PyJWTError as exc:
            return f"invalid client assertion ({type(exc).__name__})"
        if claims["iss"] != creds.netsuite_client_id:
            return "unknown client id (iss)"
        if not str(claims["aud"]).endswith(TOKEN_PATH):
            return "aud is not the token endpoint"
        if int(claims["exp"]) - int(claims["iat"]) > 3600 or int(claims["exp"]) < time.time():
            return "exp must be in the future and at most 3600 s after iat"
        scope = claims["scope"]
        scopes = scope if isinstance(scope, list) else str(scope).split(",")
        if "rest_webservices" not in [s.strip() for s in scopes]:
            return "scope must include rest_webservices"
        return None

    def _oauth_error(self, code: str, description: str) -> Response:
        return self.state.count(VENDOR, json_response({"error": code, "error_description": description}, 400))

    async def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "oauth ":
            return await self._tba_ok(request, header[6:])
        token = bearer(request)
        return bool(token) and self.state.tokens.valid(VENDOR, token)

    async def _tba_ok(self, request: Request, header: str) -> bool:
        """OAuth 1.0a: realm, consumer key and token known, and the HMAC signature recomputes."""
        creds = self.state.credentials
        params = {}
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            params[key] = urllib.parse.unquote(value.strip().strip('"'))
        if (
            params.get("realm") != netsuite_realm(creds.netsuite_account_id)
            or params.get("oauth_consumer_key") != creds.netsuite_consumer_key
            or params.get("oauth_token") != creds.netsuite_token_id
            or params.get("oauth_signature_method") not in ("HMAC-SHA256",)
        ):
            return False
        body = await request.body()
        mirror = httpx.Request(request.method, str(request.url), headers=request.headers.raw, content=body)
        base = oauth1_base_string(mirror, {k: v for k, v in params.items() if k.startswith("oauth_")})
        expected = oauth1_signature(
            base,
            creds.netsuite_consumer_secret,
            creds.netsuite_token_secret,
            params["oauth_signature_method"],
        )
        if expected != params.get("oauth_signature"):
            return False
        # OAuth 1.0a §3.3: a nonce is used once per timestamp, and the timestamp must be near the server's
        stamp, nonce = params.get("oauth_timestamp", ""), params.get("oauth_nonce", "")
        try:
            skew = abs(time.time() - int(stamp))
        except ValueError:
            return False
        if skew > TBA_WINDOW_SECONDS or (stamp, nonce) in self._nonces:
            return False
        self._nonces.add((stamp, nonce))
        return not self.state.faults.firing(VENDOR, "stale_nonce")

    async def suiteql(self, request: Request) -> Response:
        if not await self._authorized(request):
            return self.state.count(VENDOR, unauthorized(VENDOR, error))
        denied = await self.state.request_faults(VENDOR, error, request)
        if denied is not None:
            return denied
        try:
            limit, offset = _paging(request)
            if "transient" not in request.headers.get("prefer", "").lower():
                raise SuiteQLError("SuiteQL requests need the header 'Prefer: transient'.", "INVALID_HEADER")
            try:
                doc = (await request.json()) or {}
            except ValueError:
                raise SuiteQLError("The request body is not valid JSON.", "INVALID_CONTENT") from None
            query = doc.get("q") if isinstance(doc, dict) else None
            if not isinstance(query, str) or not query.strip():
                raise SuiteQLError('The request body must be {"q": "<SuiteQL>"}.', "INVALID_CONTENT")
            table, cols, rows = self.engine.run(query)
        except SuiteQLError as exc:
            return self.state.count(VENDOR, json_response(error(400, exc.code, str(exc)), 400))
        if self.state.faults.standing(VENDOR, "permission_denied", table):
            body = error(403, "INSUFFICIENT_PERMISSION", PERMISSION_VIOLATION)
            return self.state.count(VENDOR, json_response(body, 403))
        total = min(len(rows), MAX_ROWS)
        start = offset
        if offset and self.state.faults.standing(VENDOR, "duplicates", table):
            start = offset - 1  # the page overlaps the previous one by a record, as live data shifts
        dropped = {f.field for f in self.state.faults.standing(VENDOR, "drift", table)}
        items = [self.engine.item(table, i, cols, dropped) for i in rows[start : min(offset + limit, total)]]
        base = str(request.url.replace(query=""))
        links = [{"rel": "self", "href": f"{base}?limit={limit}&offset={offset}"}]
        if offset + limit < total:
            links.append({"rel": "next", "href": f"{base}?limit={limit}&offset={offset + limit}"})
        page = {
            "links": links,
            "count": len(items),
            "hasMore": offset + limit < total,
            "offset": offset,
            "totalResults": total,
            "items": items,
        }
        return self.state.finish(VENDOR, json_response(page))


def _paging(request: Request) -> tuple[int, int]:
    """limit 1..1000 (above the sandbox cap it is lowered, as a page may be), offset a multiple of limit."""
    try:
        limit = int(request.query_params.get("limit", "1000"))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError:
        raise SuiteQLError("limit and offset must be integers.", "INVALID_PARAMETER") from None
    if not 1 <= limit <= 1000 or offset < 0 or offset % limit:
        raise SuiteQLError(
            "limit must be 1..1000 and offset a non-negative multiple of limit.", "INVALID_PARAMETER"
        )
    if offset + limit > MAX_ROWS and offset >= MAX_ROWS:
        raise SuiteQLError(f"offset past the {MAX_ROWS:,}-row ceiling of a query.", "INVALID_PARAMETER")
    return limit, offset
