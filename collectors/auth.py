"""Vendor auth as httpx.Auth flows: mint a token, refresh it once on 401, never show a secret."""

from __future__ import annotations

import datetime as dt
import json
import secrets as _random
import time
import urllib.parse
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from closedloop import redact
from collectors.http import AuthError, HttpClient, TransientError, error_message, retry_after_seconds, where
from collectors.http.oauth1 import oauth1_base_string, oauth1_signature, pct

SALESFORCE_TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Secret:
    """A credential that prints as *** everywhere (repr, str, f-strings, logs); reveal() is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        self._value = value.reveal() if isinstance(value, Secret) else str(value)
        redact.register(self._value)  # from now on no log line, error or stored row can show it

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def _load_private_key(pem: Secret, what: str) -> Any:
    """Load a PEM private key early so a bad key fails at setup, with a message that shows none of it."""
    try:
        return serialization.load_pem_private_key(pem.reveal().encode(), password=None)
    except (ValueError, TypeError, UnicodeError):
        raise AuthError(f"{what}: private key is not a readable unencrypted PEM private key") from None


class TokenAuth(httpx.Auth):
    """Bearer token auth: fetch on first use, re-mint before expiry, refresh exactly once on a 401."""

    requires_response_body = True

    def __init__(self, token_url: str, *, clock: Callable[[], float] = time.monotonic, margin: float = 60.0):
        self.token_url = token_url
        self._token: Secret | None = None
        self._expires_at: float | None = None
        self._clock, self._margin = clock, margin
        self.tokens_minted = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token_url={self.token_url!r}, token=***)"

    # --- what subclasses say -------------------------------------------------------------------
    def token_request(self) -> httpx.Request:  # pragma: no cover - abstract
        raise NotImplementedError

    def _secrets(self) -> list[str]:
        return []

    def _post_form(self, form: dict[str, str]) -> httpx.Request:
        return httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})

    def _on_token(self, doc: Mapping[str, Any]) -> None:
        """Hook for extra fields of the token response (Salesforce instance_url)."""

    def _headers(self) -> dict[str, str]:
        return {}

    # --- the flow ------------------------------------------------------------------------------
    def _fresh(self) -> bool:
        if self._token is None:
            return False
        return self._expires_at is None or self._clock() < self._expires_at - self._margin

    def _apply(self, request: httpx.Request) -> None:
        assert self._token is not None
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        request.headers.update(self._headers())

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._fresh():
            self.accept((yield self.token_request()))
        self._apply(request)
        response = yield request
        if response.status_code != 401:
            return
        self._token = None  # expired or revoked: mint once more and replay the same request
        self.accept((yield self.token_request()))
        self._apply(request)
        response = yield request
        if response.status_code == 401:
            message, _ = error_message(response)
            raise AuthError(
                f"{where(request)}: HTTP 401 again with a freshly minted token: {self._redact(message)}",
                status=401,
            )

    def ensure(self, http: HttpClient) -> None:
        """Mint a token now (with the client's retries), for callers that need the token response first."""
        if not self._fresh():
            http.send_with_retries(self.token_request, self.accept, auth=None)

    def accept(self, response: httpx.Response) -> None:
        """Take a token response: store the token, or raise AuthError (refused) / TransientError (retry)."""
        status, call = response.status_code, f"token request to {response.request.url.host}"
        if status == 429 or status >= 500:
            after = retry_after_seconds(response.headers.get("Retry-After"), dt.datetime.now(dt.UTC))
            raise TransientError(f"{call}: HTTP {status}", after)
        if not 200 <= status < 300:
            message, code = error_message(response)
            raise AuthError(
                f"{call} refused (HTTP {status}): {self._redact(message)}", status=status, code=code
            )
        try:
            doc = json.loads(response.content)
        except (ValueError, RecursionError):
            raise TransientError(f"{call}: token response is not valid JSON") from None
        token = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(f"{call}: token response has no access_token")
        expires_in = doc.get("expires_in")  # NetSuite sends it as a string, "3600"
        try:
            seconds = (
                float(expires_in) if expires_in is not None and not isinstance(expires_in, bool) else None
            )
        except (TypeError, ValueError):
            seconds = None
        self._on_token(doc)
        self._token = Secret(token)
        self._expires_at = self._clock() + seconds if seconds and seconds > 0 else None
        self.tokens_minted += 1

    def _redact(self, text: str) -> str:
        for s in self._secrets():
            if s:
                text = text.replace(s, "***")
        return text


class SalesforceClientCredentials(TokenAuth):
    """Salesforce OAuth 2.0 client credentials (sent to the My Domain token endpoint, Run-As user)."""

    def __init__(self, token_url: str, client_id: str, client_secret: str | Secret, **kw: Any) -> None:
        super().__init__(token_url, **kw)
        self.client_id, self._client_secret = client_id, Secret(client_secret)
        self.instance_url: str | None = None

    def token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret.reveal(),
        }
        return self._post_form(form)

    def _secrets(self) -> list[str]:
        return [self._client_secret.reveal()]

    def _on_token(self, doc: Mapping[str, Any]) -> None:
        url = doc.get("instance_url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            self.instance_url = url.rstrip("/")


class SalesforceJWTBearer(SalesforceClientCredentials):
    """Salesforce JWT bearer flow (RFC 7523): an RS256 assertion, iss/sub/aud, exp at most 3 minutes out."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        username: str,
        private_key: str | Secret,
        *,
        audience: str | None = None,
        lifetime: int = 180,
        now: Callable[[], float] = time.time,
        **kw: Any,
    ) -> None:
        super().__init__(token_url, client_id, "", **kw)
        self.username = username
        self._key = _load_private_key(Secret(private_key), "Salesforce JWT bearer")
        host = urllib.parse.urlsplit(token_url).hostname or ""
        # aud is login or test.salesforce.com even when the token URL is a My Domain host (docs)
        sandbox = host.startswith("test.") or ".sandbox." in host
        self.audience = audience or (
            "https://test.salesforce.com" if sandbox else "https://login.salesforce.com"
        )
        self.lifetime, self._now = min(lifetime, 180), now

    def assertion(self) -> str:
        claims = {"iss": self.client_id, "sub": self.username, "aud": self.audience}
        claims["exp"] = int(self._now()) + self.lifetime
        return jwt.encode(claims, self._key, algorithm="RS256")

    def token_request(self) -> httpx.Request:
        form = {"grant_type": JWT_BEARER, "assertion": self.assertion()}
        return self._post_form(form)


class NetSuiteM2M(TokenAuth):
    """NetSuite OAuth 2.0 machine-to-machine: client_credentials with a PS256 client_assertion (kid)."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        certificate_id: str,
        private_key: str | Secret,
        *,
        scope: str | list[str] = ("rest_webservices",),  # type: ignore[assignment]
        algorithm: str = "PS256",
        lifetime: int = 300,
        now: Callable[[], float] = time.time,
        **kw: Any,
    ) -> None:
        super().__init__(token_url, **kw)
        self.client_id, self.certificate_id = client_id, certificate_id
        self._key = _load_private_key(Secret(private_key), "NetSuite M2M")
        # docs show scope both as a JSON array and as a comma-separated string: a string is sent as given
        self.scope = scope if isinstance(scope, str) else list(scope)
        self.algorithm, self.lifetime, self._now = algorithm, min(lifetime, 3600), now

    def assertion(self) -> str:
        iat = int(self._now())
        claims = {"iss": self.client_id, "scope": self.scope, "aud": self.token_url, "iat": iat}
        claims["exp"] = iat + self.lifetime
        headers = {"kid": self.certificate_id, "typ": "JWT"}
        return jwt.encode(claims, self._key, algorithm=self.algorithm, headers=headers)

    def token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION,
            "client_assertion": self.assertion(),
        }
        return self._post_form(form)


class IroncladClientCredentials(TokenAuth):
    """Ironclad OAuth client credentials; every call also names the user it acts as (x-as-user-email)."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | Secret,
        *,
        as_user_email: str,
        scope: str = "public.records.readRecords public.workflows.readWorkflows",
        **kw: Any,
    ) -> None:
        super().__init__(token_url, **kw)
        self.client_id, self._client_secret = client_id, Secret(client_secret)
        self.as_user_email, self.scope = as_user_email, scope

    def token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret.reveal(),
            "scope": self.scope,
        }
        return self._post_form(form)

    def _secrets(self) -> list[str]:
        return [self._client_secret.reveal()]

    def _headers(self) -> dict[str, str]:
        return {"x-as-user-email": self.as_user_email} if self.as_user_email else {}


class ClientCredentialsBasic(TokenAuth):
    """OAuth 2.0 client credentials with the client authenticated by HTTP Basic (RFC 6749 client_secret_basic),
    as SAP BTP / S/4HANA Cloud and Oracle Identity Cloud (IDCS / OCI IAM) token endpoints take it: the secret never
    goes into the form. Oracle's scope names the Fusion resource (e.g. urn:opc:resource:consumer::all)."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | Secret,
        *,
        scope: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(token_url, **kw)
        self.client_id, self._client_secret, self.scope = client_id, Secret(client_secret), scope

    def token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials", "client_id": self.client_id}
        if self.scope:
            form["scope"] = self.scope
        basic = httpx.BasicAuth(self.client_id, self._client_secret.reveal())
        return next(basic.auth_flow(self._post_form(form)))

    def _secrets(self) -> list[str]:
        return [self._client_secret.reveal()]


class Basic(httpx.Auth):
    """HTTP Basic as an integration or communication user (Oracle Fusion, an SAP communication arrangement):
    nothing to refresh, so a 401 is final."""

    def __init__(self, user: str, password: str | Secret) -> None:
        self._user, self._password = user, Secret(password)

    def __repr__(self) -> str:
        return f"Basic(user={self._user!r}, password=***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield from httpx.BasicAuth(self._user, self._password.reveal()).auth_flow(request)


class StaticBearer(httpx.Auth):
    """A fixed bearer token (Ironclad legacy API key): nothing to refresh, so a 401 is final."""

    def __init__(self, token: str | Secret, headers: Mapping[str, str] | None = None) -> None:
        self._token, self._extra = Secret(token), dict(headers or {})

    def __repr__(self) -> str:
        return "StaticBearer(token=***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        request.headers.update(self._extra)
        yield request


# --- OAuth 1.0a (NetSuite token-based authentication) ---------------------------------------------


def netsuite_realm(account_id: str) -> str:
    """The OAuth realm is the account id upper-cased with '_' where the host has '-' (1234567_SB1)."""
    return account_id.strip().upper().replace("-", "_")


class NetSuiteTBA(httpx.Auth):
    """NetSuite token-based auth: OAuth 1.0a signed per request (fresh nonce per attempt); a 401 is signed
    again once (a nonce the account has seen, a timestamp outside its window), as the OAuth 2.0 flows mint
    a new token once, before it is final."""

    requires_request_body = True
    requires_response_body = True  # a 401's body (the vendor's message) is read for the error

    def __init__(
        self,
        account_id: str,
        consumer_key: str,
        consumer_secret: str | Secret,
        token_id: str,
        token_secret: str | Secret,
        *,
        signature_method: str = "HMAC-SHA256",
        nonce: Callable[[], str] = lambda: _random.token_hex(16),
        timestamp: Callable[[], int] = lambda: int(time.time()),
        realm: str | None = None,
    ) -> None:
        self.realm = netsuite_realm(account_id) if realm is None else realm
        self.consumer_key, self.token_id = consumer_key, token_id
        self._consumer_secret, self._token_secret = Secret(consumer_secret), Secret(token_secret)
        self.signature_method, self._nonce, self._timestamp = signature_method, nonce, timestamp
        self.resigned = 0  # how many 401s were answered by signing again (tests, logs)

    def __repr__(self) -> str:
        return f"NetSuiteTBA(realm={self.realm!r}, consumer_key=***, token=***)"

    def header(self, request: httpx.Request) -> str:
        params = {
            "oauth_consumer_key": self.consumer_key,
            "oauth_token": self.token_id,
            "oauth_signature_method": self.signature_method,
            "oauth_timestamp": str(self._timestamp()),
            "oauth_nonce": self._nonce(),
            "oauth_version": "1.0",
        }
        base = oauth1_base_string(request, params)
        params["oauth_signature"] = oauth1_signature(
            base, self._consumer_secret.reveal(), self._token_secret.reveal(), self.signature_method
        )
        fields = [f'realm="{self.realm}"'] + [f'{k}="{pct(v)}"' for k, v in params.items()]
        return "OAuth " + ", ".join(fields)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header(request)
        response = yield request
        if response.status_code != 401:
            return
        # an expired timestamp or a nonce seen before: a fresh signature (new nonce, current time), once
        self.resigned += 1
        request.headers["Authorization"] = self.header(request)
        response = yield request
        if response.status_code == 401:
            message, _ = error_message(response)
            raise AuthError(
                f"{where(request)}: token-based auth refused (HTTP 401), again after signing afresh: {message}"
                " (check the token, the role's permissions, the realm and the clock: OAuth 1.0a signatures"
                " carry a timestamp)",
                status=401,
            )


# --- credentials from the caller ------------------------------------------------------------------

SecretSource = Callable[[str], "str | None"] | Mapping[str, str] | None


def need(source: str, cfg: Mapping[str, Any], secrets: SecretSource, name: str, *, secret: bool) -> str:
    """A credential from secrets (env / secrets.toml) or, for non-secrets, config; a clear error if absent."""
    value: Any = None
    if callable(secrets):
        value = secrets(name)
    elif isinstance(secrets, Mapping):
        value = secrets.get(name)
    if value is None and not secret:
        value = cfg.get(name)
    if isinstance(value, Secret):
        value = value.reveal()
    if not value:
        where_from = (
            f"the environment (CLOSEDLOOP_{source.upper()}_{name.upper()}) or .streamlit/secrets.toml"
            if secret
            else f"[sources.{source}] {name}"
        )
        raise AuthError(
            f"{source}: {name} is required for auth = {cfg.get('auth')!r}; set it in {where_from}"
        )
    return str(value)


class DocuSignJWTGrant(TokenAuth):
    """DocuSign OAuth JWT grant: an RS256 assertion (iss = integration key, sub = the impersonated user id,
    aud = the account server's host without scheme, scope), exchanged at /oauth/token for a bearer token."""

    def __init__(
        self,
        token_url: str,
        integration_key: str,
        user_id: str,
        private_key: str | Secret,
        *,
        scope: str = "signature impersonation adm_store_unified_repo_read",
        lifetime: int = 3600,
        now: Callable[[], float] = time.time,
        **kw: Any,
    ) -> None:
        super().__init__(token_url, **kw)
        self.integration_key, self.user_id, self.scope = integration_key, user_id, scope
        self._key = _load_private_key(Secret(private_key), "DocuSign JWT grant")
        # aud is the account server's host name (account-d.docusign.com), not a URL (DocuSign JWT docs)
        self.audience = urllib.parse.urlsplit(token_url).netloc or token_url
        self.lifetime, self._now = min(lifetime, 3600), now

    def assertion(self) -> str:
        iat = int(self._now())
        claims = {"iss": self.integration_key, "sub": self.user_id, "aud": self.audience, "scope": self.scope}
        claims |= {"iat": iat, "exp": iat + self.lifetime}
        return jwt.encode(claims, self._key, algorithm="RS256")

    def token_request(self) -> httpx.Request:
        return self._post_form({"grant_type": JWT_BEARER, "assertion": self.assertion()})


class ClientCredentials(TokenAuth):
    """Plain OAuth 2.0 client credentials (RFC 6749 §4.4), the client authenticated in the form: the flow of an
    API whose vendor documents nothing more (Entra ID app registrations, most API gateways)."""

    def __init__(
        self, token_url: str, client_id: str, client_secret: str | Secret, *, scope: str = "", **kw: Any
    ):
        super().__init__(token_url, **kw)
        self.client_id, self._client_secret, self.scope = client_id, Secret(client_secret), scope

    def token_request(self) -> httpx.Request:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret.reveal(),
        }
        return self._post_form(form | ({"scope": self.scope} if self.scope else {}))

    def _secrets(self) -> list[str]:
        return [self._client_secret.reveal()]
