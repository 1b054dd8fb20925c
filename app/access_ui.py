"""The signed-in person in the app: sign-in (st.login, OpenID Connect) or local mode, their Principal, the gate
every page passes first, and the audit of what they open, export and are refused.

With `[auth]` in .streamlit/secrets.toml every page needs sign-in, and the roles come from the ID token's
roles claim or the e-mail map ([access] in closedloop.toml). Without it the app is in *local mode*: one
person on 127.0.0.1 (the server refuses any other address), with [access] local_roles, a banner on every page.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

import streamlit as st

from app import queries
from closedloop import access, settings
from closedloop.audit import AuditLog

log = logging.getLogger(__name__)
DEFAULT_USER = "analyst"
ENV_USER = "CLOSEDLOOP_APP_USER"


def auth_configured() -> bool:
    """Whether sign-in is configured: an [auth] table in Streamlit's secrets."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _config() -> settings.Config | None:
    try:
        return queries.config()  # parsed once per version of the file
    except settings.ConfigError:
        return None


def _policy(cfg: settings.Config | None) -> access.Policy:
    return access.policy(cfg.values["access"]) if cfg else access.Policy()


@st.cache_resource(show_spinner=False)
def audit_log(ops_url: str) -> AuditLog:
    """One audit writer (engine + migrations) per ops-store URL for the whole server."""
    return AuditLog(ops_url)


def _user() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict()) if st.user.get("is_logged_in") else {}
    except Exception:
        return {}


def principal() -> access.Principal:
    """Who is using this session, with their roles, scope and masking (no roles: nobody signed in)."""
    cfg = _config()
    policy = _policy(cfg)
    if not auth_configured():
        fallback = (cfg.get("app", "default_user") if cfg else "") or DEFAULT_USER
        return policy.local((os.environ.get(ENV_USER) or fallback)[:200])
    user = _user()
    if not user:
        return access.Principal("anonymous")
    email = str(user.get("email") or "").strip().lower() or None
    actor = (email or str(user.get("preferred_username") or user.get("sub") or "unknown"))[:200]
    return policy.principal(actor, email, user.get(policy.roles_claim))


def record(
    event: str, subject: str = "", detail: dict[str, Any] | None = None, who: access.Principal | None = None
) -> None:
    """Append an access event; a failing ops store is logged, never shown as a crash of the page."""
    who = who or principal()
    cfg = _config()
    if cfg is None:
        return
    try:
        audit_log(cfg.ops_url).record(who.actor, event, subject, detail, who.roles)
    except Exception as exc:  # the audit must not take the page down; the server log says it failed
        log.error("audit event %s not recorded: %s", event, type(exc).__name__)


def _issued_at(user: dict[str, Any]) -> dt.datetime | None:
    for claim in ("auth_time", "iat"):
        if isinstance(user.get(claim), (int, float)):
            return dt.datetime.fromtimestamp(user[claim], dt.UTC)
    return None


def session(who: access.Principal) -> None:
    """Sign-in bookkeeping: the first page of a sign-in records it; a sign-in older than the policy ends."""
    user = _user()
    issued = _issued_at(user)
    policy = _policy(_config())
    if issued is not None and dt.datetime.now(dt.UTC) - issued > dt.timedelta(hours=policy.session_hours):
        record("session_expired", detail={"signed_in_at": issued.isoformat()}, who=who)
        st.logout()
        st.stop()
    marker = f"{who.actor}|{issued.isoformat() if issued else ''}"
    if st.session_state.get("_signed_in") != marker:
        st.session_state["_signed_in"] = marker
        if not _already_recorded(who, issued):
            record(
                "sign_in",
                str(user.get("iss") or ""),
                {"signed_in_at": issued.isoformat() if issued else None},
                who,
            )


def _already_recorded(who: access.Principal, issued: dt.datetime | None) -> bool:
    """Every page load is a new session: a sign-in is recorded once, by its time of issue."""
    key = f"{who.actor}|{issued.isoformat() if issued else ''}"
    seen = _signed_in_seen()
    if key in seen:
        return True
    seen.add(key)
    return False


@st.cache_resource(show_spinner=False)
def _signed_in_seen() -> set[str]:
    return set()


def sign_out() -> None:
    """The sidebar's Sign out: recorded, then Streamlit's logout (clears the identity cookie, ends at the provider)."""
    record("sign_out")
    st.logout()


def local_banner() -> None:
    st.info(
        "**Local mode**: no sign-in is configured (`[auth]` in `.streamlit/secrets.toml`), so this app listens on "
        "127.0.0.1 only and everyone using it acts as one local user.",
        icon=":material/lock_open:",
    )


def gate(page: str) -> access.Principal:
    """The first thing every page does: sign-in, session, role and page checks. Returns who may proceed;
    anyone else sees why and nothing more (the script stops here, before any query runs)."""
    who = principal()
    if who.local:
        local_banner()
    elif not auth_configured() or not _user():
        st.title("Sign in")
        st.write(
            "closedloop holds contract prices, rates and client data: sign in with your company account."
        )
        st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:")
        st.stop()
    else:
        session(who)
    if not who.roles:
        record("denied", page, {"why": "no role"}, who)
        st.title("No access")
        st.error(
            f"You are signed in as **{who.actor}**, but no closedloop role is given to you. "
            "Ask your administrator to add you to one (executive, finance, support or admin)."
        )
        st.stop()
    if not who.can_see(page):
        record("denied", page, {"why": "page not allowed for role"}, who)
        st.title(access.PAGES.get(page, page))
        st.error(f"Your role ({', '.join(sorted(who.roles))}) does not open this page.")
        st.stop()
    return who


def allowed(who: access.Principal, action: str, subject: str = "") -> bool:
    """Enforce `action` where it is carried out (a callback, an export): a refusal is audited. To decide
    whether to draw a button, ask `who.can(action)`: drawing is not an attempt."""
    if who.can(action):
        return True
    record("denied", f"{action} {subject}".strip(), {"why": "action not allowed for role"}, who)
    return False
