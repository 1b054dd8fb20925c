"""Who is acting: the signed-in user when OIDC sign-in is configured, else a configurable default name."""

from __future__ import annotations

import os

import streamlit as st

DEFAULT_USER = "analyst"
ENV_USER = "CLOSEDLOOP_APP_USER"


def current_user() -> str:
    """The name written to the audit log: st.user's email or name when signed in, else the default."""
    try:
        if st.user.is_logged_in:
            for claim in ("email", "preferred_username", "name", "sub"):
                value = st.user.get(claim)
                if value:
                    return str(value)[:200]
    except Exception:  # st.user without an auth section configured raises on some versions
        pass
    return os.environ.get(ENV_USER, DEFAULT_USER)[:200] or DEFAULT_USER


def signed_in() -> bool:
    """Whether a real identity (not the default name) is acting."""
    try:
        return bool(st.user.is_logged_in)
    except Exception:
        return False
