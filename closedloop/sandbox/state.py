"""What the sandbox's vendors share: dummy credentials, issued tokens, faults, page caps, request counts."""

from __future__ import annotations

import asyncio
import collections
import json
import secrets as _random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from closedloop.sandbox.data import Exports
from closedloop.sandbox.faults import Fault, FaultBook


@dataclass
class Credentials:
    """The sandbox's dummy credentials; the key pair verifies JWT assertions (Salesforce JWT, NetSuite M2M)."""

    salesforce_client_id: str = "closedloop-sandbox-salesforce"
    salesforce_client_secret: str = "sandbox-salesforce-secret"
    salesforce_username: str = "integration@closedloop.demo"
    netsuite_account_id: str = "1234567_SB1"
    netsuite_client_id: str = "closedloop-sandbox-netsuite"
    netsuite_certificate_id: str = "sandbox-certificate-1"
    netsuite_consumer_key: str = "sandbox-consumer-key"
    netsuite_consumer_secret: str = "sandbox-consumer-secret"
    netsuite_token_id: str = "sandbox-token-id"
    netsuite_token_secret: str = "sandbox-token-secret"
    ironclad_client_id: str = "closedloop-sandbox-ironclad"
    ironclad_client_secret: str = "sandbox-ironclad-secret"
    ironclad_user_email: str = "integration@closedloop.demo"
    public_key_pem: str | None = None  # None: assertions are checked for structure and claims only
    private_key_pem: str | None = field(default=None, repr=False)
    # the seed of every other vendor's client secret (closedloop/sandbox/vendors.py), fresh per sandbox
    client_seed: str = field(default_factory=lambda: _random.token_hex(16), repr=False)

    def client(self, vendor: str) -> tuple[str, str]:
        """(client id, client secret) of a vendor beyond the three built in; the secret differs per sandbox."""
        return f"closedloop-sandbox-{vendor}", f"sandbox-{vendor}-{self.client_seed}"

    def __repr__(self) -> str:
        return "Credentials(sandbox dummies, secrets=***)"

    @classmethod
    def with_keypair(cls) -> Credentials:
        """Fresh RSA key pair: the collectors sign with the private half, the sandbox verifies with the public."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        return cls(public_key_pem=public, private_key_pem=private)


@dataclass
class PageCaps:
    """Server-side page size ceilings, where the vendor may shrink a page (NetSuite pages are the client's limit)."""

    salesforce: int = 2000  # batchSize is a hint: Salesforce may return fewer records per page
    ironclad: int = 100  # pageSize above the ceiling is lowered, and the envelope says so


class Tokens:
    """Bearer tokens issued per vendor; the token_expiry fault revokes every live one of a vendor."""

    def __init__(self) -> None:
        self._live: dict[str, dict[str, float | None]] = collections.defaultdict(dict)
        self._lock = threading.Lock()
        self.issued: list[str] = []  # every token ever handed out, so a test can look for leaks

    def issue(self, vendor: str, prefix: str = "", ttl: float | None = None) -> str:
        token = prefix + _random.token_urlsafe(24)
        with self._lock:
            self._live[vendor][token] = time.monotonic() + ttl if ttl else None
            self.issued.append(token)
        return token

    def valid(self, vendor: str, token: str) -> bool:
        with self._lock:
            if token not in self._live[vendor]:
                return False
            expires = self._live[vendor][token]
            return expires is None or time.monotonic() < expires

    def revoke_all(self, vendor: str) -> None:
        with self._lock:
            self._live[vendor].clear()


# How each vendor words an error: (status, code, message) -> response body
ErrorBody = Callable[[int, str, str], Any]


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json")


class SandboxState:
    """Everything the routes read: the exports, credentials, tokens, faults and counters of what happened."""

    def __init__(
        self,
        exports_dir: Path,
        *,
        faults: list[Fault] | None = None,
        credentials: Credentials | None = None,
        caps: PageCaps | None = None,
    ) -> None:
        self.exports = Exports(Path(exports_dir))
        self.faults = FaultBook(faults)
        self.credentials = credentials or Credentials()
        self.caps = caps or PageCaps()
        self.tokens = Tokens()
        self.counts: collections.Counter[tuple[str, int]] = collections.Counter()  # (vendor, status)
        self.requests: collections.Counter[str] = collections.Counter()  # data requests per vendor

    def count(self, vendor: str, response: Response) -> Response:
        self.counts[(vendor, response.status_code)] += 1
        return response

    async def request_faults(
        self, vendor: str, error: ErrorBody, request: Request | None = None
    ) -> Response | None:
        """Apply the request-level faults that fire on this data request: an error response, or None."""
        self.requests[vendor] += 1
        book = self.faults
        if request is not None and book.firing(vendor, "echo_credentials"):
            header = request.headers.get("authorization", "")
            token = bearer(request) or header
            msg = f"Malformed request. Received Authorization: {header} (access_token={token})"
            return self.count(vendor, json_response(error(400, "INVALID_REQUEST", msg), 400))
        if book.firing(vendor, "token_expiry"):
            self.tokens.revoke_all(vendor)  # the caller's token is now dead: it gets the vendor's 401
            return self.count(vendor, unauthorized(vendor, error))
        if book.firing(vendor, "total_requests"):
            msg = "TotalRequests Limit exceeded."
            return self.count(vendor, json_response(error(403, "REQUEST_LIMIT_EXCEEDED", msg), 403))
        if book.firing(vendor, "concurrent_limit"):
            if vendor == "salesforce":
                msg = "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
                return self.count(vendor, json_response(error(403, "REQUEST_LIMIT_EXCEEDED", msg), 403))
            msg = "Concurrent request limit exceeded. Request blocked."
            return self.count(vendor, json_response(error(400, "CONCURRENCY_LIMIT_EXCEEDED", msg), 400))
        for fault in book.firing(vendor, "rate_limit"):
            after = f"{fault.seconds:g}" if fault.seconds < 1 else str(int(fault.seconds))
            body = error(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests; retry later.")
            return self.count(vendor, json_response(body, 429, headers={"Retry-After": after}))
        for fault in book.firing(vendor, "server_error"):
            status = fault.status if 500 <= fault.status < 600 else 503
            body = error(status, "UNKNOWN_EXCEPTION" if status == 500 else "SERVER_UNAVAILABLE", "Try again.")
            return self.count(vendor, json_response(body, status))
        for fault in book.firing(vendor, "slow"):
            await asyncio.sleep(fault.seconds or 0.05)
        return None

    def finish(self, vendor: str, response: Response) -> Response:
        """The truncated fault cuts a good page's body in half (a dropped connection's worth of JSON)."""
        if response.status_code == 200 and self.faults.firing(vendor, "truncated"):
            body = bytes(response.body)
            cut = Response(body[: len(body) // 2], media_type="application/json")
            return self.count(vendor, cut)
        return self.count(vendor, response)


def unauthorized(vendor: str, error: ErrorBody) -> Response:
    """The vendor's 401 for a missing, unknown, expired or revoked token."""
    if vendor == "salesforce":
        return json_response(error(401, "INVALID_SESSION_ID", "Session expired or invalid"), 401)
    if vendor == "netsuite":
        msg = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI."
        return json_response(error(401, "INVALID_LOGIN", msg), 401)
    return json_response(error(401, "UNAUTHORIZED", "Invalid or expired access token."), 401)


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:].strip() if value[:7].lower() == "bearer " else None


async def form_of(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (no python-multipart needed), last value wins."""
    import urllib.parse

    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
