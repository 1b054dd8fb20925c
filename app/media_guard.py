"""Guards Streamlit's media endpoint (/media/<id>.<ext>) when sign-in is configured.

st.download_button serves its bytes from that endpoint, and Streamlit answers anyone who has the URL, signed in
or not. This ASGI middleware asks first who is asking, from Streamlit's own identity cookie (`_streamlit_user`,
signed with the [auth] cookie secret by itsdangerous, read exactly as Streamlit's websocket reads it; an
unsigned, wrongly signed or expired cookie is nobody):

- nobody signed in, a sign-in older than [access] session_hours, or a person with no role: refused for every
  media file (images too: the app shows nothing to them either);
- a download (Streamlit marks it `Content-Disposition: attachment`, whatever its type): refused unless the
  person may export (closedloop.access ROLE_ACTIONS), or, for the audit page's own CSV, may open that page.
  The answer's header decides, not the file's extension or the URL: a CSV shown inline is not a download,
  and an HTML exception pack is one.

Other media (st.image and the like) go to every signed-in person with a role. Each refusal is a 403 with a
short text and a `denied` audit event (subject "download <path>"). Local mode (no [auth]) is unchanged.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from typing import Any

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from closedloop import access, settings
from closedloop.audit import AuditLog

log = logging.getLogger(__name__)
USER_COOKIE = "_streamlit_user"
# The audit page (app/views/audit.py) names its CSV so: that download needs the audit page, not `export`.
AUDIT_CSV_PREFIX = "closedloop-audit-"
SIGN_IN = b"Refused: sign in to closedloop (with a role) first.\n"
NO_EXPORT = b"Refused: your role may not export this download.\n"


def media_prefix() -> str:
    """The media endpoint's path prefix, under the server's base URL path."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/media/" if base else "/media/"


def identity(cookies: dict[str, str], secret: str) -> dict[str, Any]:
    """The claims of a valid, signed-in identity cookie; {} for none, a bad signature or bad content."""
    from streamlit.auth_util import get_cookie_with_chunks
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    def one(name: str) -> bytes | None:
        raw = cookies.get(name)
        # HTTP cookies are latin-1 (as Streamlit's websocket reads them)
        return None if raw is None else decode_signed_value(secret, name, raw.encode("latin-1"))

    if not secret:
        return {}
    try:
        raw = get_cookie_with_chunks(one, USER_COOKIE)
        claims = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeError, ValueError):
        return {}
    return claims if isinstance(claims, dict) and claims.get("is_logged_in") is True else {}


def principal_of(claims: dict[str, Any], policy: access.Policy) -> access.Principal:
    """The Principal app/access_ui.principal makes of the same claims (e-mail, roles claim, e-mail map)."""
    email = str(claims.get("email") or "").strip().lower() or None
    actor = (email or str(claims.get("preferred_username") or claims.get("sub") or "unknown"))[:200]
    return policy.principal(actor, email, claims.get(policy.roles_claim))


def expired(claims: dict[str, Any], hours: float, now: dt.datetime | None = None) -> bool:
    """Whether the sign-in is older than the session limit (as app/access_ui.session decides)."""
    for claim in ("auth_time", "iat"):
        if isinstance(claims.get(claim), (int, float)):
            issued = dt.datetime.fromtimestamp(claims[claim], dt.UTC)
            return (now or dt.datetime.now(dt.UTC)) - issued > dt.timedelta(hours=hours)
    return False


def may_download(who: access.Principal, filename: str) -> bool:
    """Whether `who` may take this attachment: the audit CSV with the audit page, anything else with export."""
    if filename.startswith(AUDIT_CSV_PREFIX):
        return who.can_see("audit")
    return who.can("export")


def attachment_name(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The file name of an attachment answer ('' when unnamed); None when the answer is not an attachment."""
    value = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-disposition"), "")
    kind, _, params = value.partition(";")
    if kind.strip().lower() != "attachment":
        return None
    for param in params.split(";"):
        key, _, val = param.strip().partition("=")
        if key.lower() in ("filename", "filename*"):
            return val.strip('"').removeprefix("utf-8''")
    return ""


@functools.cache
def _audit_log(ops_url: str) -> AuditLog:
    return AuditLog(ops_url)


class Guard:
    """What the server knows per request: configuration, policy, cookie secret (read per request: the
    secrets and closedloop.toml may change while the server runs, as the pages read them per run)."""

    def __init__(self) -> None:
        try:
            self.config: settings.Config | None = settings.load()
        except settings.ConfigError:
            self.config = None
        self.policy = access.policy(self.config.values["access"]) if self.config else access.Policy()

    def who(self, cookies: dict[str, str]) -> tuple[access.Principal, str]:
        """The person asking, and why they may have no media at all ('' when they may have some)."""
        from streamlit.web.server.server_util import get_cookie_secret

        claims = identity(cookies, get_cookie_secret())
        if not claims:  # a cookie that does not verify names nobody: its claims are not read
            why = (
                "identity cookie not valid"
                if any(k.startswith(USER_COOKIE) for k in cookies)
                else "not signed in"
            )
            return access.Principal("anonymous"), why
        who = principal_of(claims, self.policy)
        if expired(claims, self.policy.session_hours):
            return who, "session expired"
        return who, "" if who.roles else "no role"

    def deny(
        self, actor: str, roles: frozenset[str], path: str, why: str, filename: str | None = None
    ) -> None:
        """A `denied` audit event; a failing ops store is logged, the refusal stands."""
        if self.config is None:
            log.error("media refusal not audited: no closedloop configuration")
            return
        detail = {"why": why} | ({"file": filename} if filename is not None else {})
        try:
            _audit_log(self.config.ops_url).record(actor, "denied", f"download {path}", detail, roles)
        except Exception as exc:  # the refusal must not turn into a 500 because the audit failed
            log.error("media refusal not audited: %s", type(exc).__name__)


def _configured() -> bool:
    from app import access_ui

    return access_ui.auth_configured()


class MediaGuardMiddleware:
    """ASGI middleware: with [auth] configured, a /media/ request needs a signed-in person with a role, and a
    download one whose role may export it (module docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(media_prefix()):
            return await self.app(scope, receive, send)
        if not await run_in_threadpool(_configured):
            return await self.app(scope, receive, send)
        path = scope["path"]
        guard = await run_in_threadpool(Guard)
        who, why = await run_in_threadpool(guard.who, dict(HTTPConnection(scope).cookies))
        if why:
            await run_in_threadpool(guard.deny, who.actor, who.roles, path, why)
            return await _refuse(send, SIGN_IN)
        held: dict[str, bool] = {}

        async def checked(message) -> None:
            if message["type"] == "http.response.start":
                name = attachment_name(message.get("headers", []))
                if name is not None and not may_download(who, name):
                    held["refused"] = True
                    await run_in_threadpool(
                        guard.deny, who.actor, who.roles, path, "role may not export", name
                    )
                    return await _refuse(send, NO_EXPORT)
            elif message["type"] == "http.response.body" and held.get("refused"):
                return  # the file's bytes go nowhere
            await send(message)

        await self.app(scope, receive, checked)


async def _refuse(send, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode())]
    headers.append((b"cache-control", b"no-store"))
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": text})
