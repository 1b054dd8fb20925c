"""How the app is started, one command line for `closedloop serve`, the page benchmark and the browser tests.

The server runs from the project root, so its .streamlit/config.toml (theme, no file watching) applies
wherever the command was typed.

Without sign-in ([auth] in Streamlit's secrets) the app is in local mode: everyone who reaches it acts as one
local user with every role, so it may only listen on a loopback address. app/serve.py checks at server start
(`refusal`) and the server exits with BIND_REFUSED before it accepts a connection.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app" / "serve.py"
BIND_REFUSED = 3  # the exit code of a server that refused its address


def command(port: int, address: str = "127.0.0.1") -> list[str]:
    """`streamlit run` of the app on address:port, headless; run it with cwd=ROOT."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.address", address, "--server.headless", "true"]  # fmt: skip


def is_loopback(address: str | None) -> bool:
    """Whether the server would listen on this machine only (an empty address means every interface)."""
    host = (address or "").strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost: it may resolve to anything
        return False


def refusal(address: str | None, auth_configured: bool) -> str | None:
    """Why the server must not start on `address`, or None: local mode listens on loopback only."""
    if auth_configured or is_loopback(address):
        return None
    shown = address or "every interface"
    return (
        f"closedloop: refusing to serve on {shown}: no sign-in is configured, so the app is in local mode, "
        "where anyone who reaches it acts with every role. Serve on 127.0.0.1 (or ::1, localhost), or "
        "configure sign-in: an [auth] table in .streamlit/secrets.toml (see .streamlit/secrets.toml.example)."
    )
