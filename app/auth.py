"""Who is acting: the signed-in user when OIDC sign-in is configured, else a configurable default name."""

from __future__ import annotations

import os

import streamlit as st

from closedloop import settings

DEFAULT_USER = "analyst"
ENV_USER = "CLOSEDLOOP_APP_USER"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_CLAIMS = ("email", "preferred_username", "name", "sub")


def _config() -> settings.Config | None:
    """The config, or None when it is broken (the pages say so; naming the user must not fail)."""
    try:
        return settings.load()
    except settings.ConfigError:
        return None


def _claims() -> list[str]:
    """The signed-in user's identifying claims (email first), or [] when nobody is signed in."""
    try:
        if st.user.is_logged_in:
            return [str(st.user.get(c))[:200] for c in _CLAIMS if st.user.get(c)]
    except Exception:  # st.user without an auth section configured raises on some versions
        pass
    return []


def current_user() -> str:
    """The name written to the audit log: st.user's email or name when signed in, else the default.

    The default is $CLOSEDLOOP_APP_USER when set (an override for one process), else [app] default_user.
    """
    claims = _claims()
    if claims:
        return claims[0]
    cfg = _config()
    fallback = (cfg.get("app", "default_user") if cfg else "") or DEFAULT_USER
    return (os.environ.get(ENV_USER) or fallback)[:200]


def signed_in() -> bool:
    """Whether a real identity (not the default name) is acting."""
    try:
        return bool(st.user.is_logged_in)
    except Exception:
        return False


def admins() -> list[str]:
    """The configured [app] admins (names or emails, compared case-insensitively)."""
    cfg = _config()
    return [str(a).strip() for a in (cfg.get("app", "admins") if cfg else []) if str(a).strip()]


def local_only() -> bool:
    """Whether the app listens on loopback only and this session comes from the same machine."""
    address = str(st.get_option("server.address") or "")
    try:
        remote = st.context.ip_address  # None for loopback connections
    except Exception:
        remote = None
    return address in LOOPBACK and remote is None


def is_admin() -> bool:
    """Admins may request runs: the people in [app] admins; with none configured, anyone on 127.0.0.1."""
    configured = {a.lower() for a in admins()}
    if not configured:
        return local_only()
    names = _claims() or [current_user()]
    return any(n.lower() in configured for n in names)


def admin_policy() -> str:
    """One line for the UI saying who counts as an admin here, so nobody wonders why a button is missing."""
    n = len(admins())
    if n:
        return f"Admins are the {n} {'person' if n == 1 else 'people'} listed in `[app] admins`."
    return (
        "No `[app] admins` configured: anyone using the app on 127.0.0.1 counts as admin "
        "(set `[app] admins` before serving it to a team)."
    )
