"""Local mode (no sign-in) serves on loopback only: `closedloop serve --address` and the app server refuse
any other address, and with [auth] configured they start on it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from closedloop import appserver
from tests.closedloop.test_pipeline import make_firm

AUTH = """[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{cookie}"
client_id = "closedloop"
client_secret = "not-used-before-sign-in"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(secrets) -> dict[str, str]:
    # STREAMLIT_SECRETS_FILES replaces Streamlit's search list: a developer's own .streamlit/secrets.toml
    # cannot decide which mode these servers start in.
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "STREAMLIT_SECRETS_FILES": str(secrets)}


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        (None, False),
        ("192.0.2.7", False),
        ("app.example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_only_loopback_addresses_count_as_local(address, loopback):
    assert appserver.is_loopback(address) is loopback
    assert (appserver.refusal(address, auth_configured=False) is None) is loopback
    assert appserver.refusal(address, auth_configured=True) is None  # sign-in configured: any address


def test_serve_refuses_a_public_address_in_local_mode(tmp_path):
    cfg = make_firm(tmp_path)
    proc = subprocess.run(
        _serve(cfg, _port(), "0.0.0.0"),
        capture_output=True,
        text=True,
        env=_env(tmp_path / "no-secrets.toml"),
        timeout=120,
    )
    assert proc.returncode == appserver.BIND_REFUSED, proc.stdout + proc.stderr
    said = " ".join((proc.stdout + proc.stderr).split())
    assert "refusing to serve on 0.0.0.0" in said
    assert "local mode" in said and "[auth]" in said
    assert f"the app exited with code {appserver.BIND_REFUSED}" in said


def test_the_app_server_refuses_every_interface_without_sign_in(tmp_path):
    proc = subprocess.run(
        appserver.command(_port(), ""),
        cwd=appserver.ROOT,
        capture_output=True,
        text=True,
        env=_env(tmp_path / "no-secrets.toml"),
        timeout=120,
    )
    assert proc.returncode == appserver.BIND_REFUSED, proc.stdout + proc.stderr
    assert "refusing to serve on every interface" in proc.stderr


def _serve(cfg, port: int, address: str) -> list[str]:
    cli = [sys.executable, "-m", "closedloop.cli", "serve"]
    return [*cli, "--config", str(cfg.path), "--port", str(port), "--address", address]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_with_sign_in_configured_serve_starts_on_any_address(tmp_path):
    cfg = make_firm(tmp_path)
    port = _port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(AUTH.format(port=port, cookie=os.urandom(16).hex()), encoding="utf-8")
    proc = subprocess.Popen(
        _serve(cfg, port, "0.0.0.0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(secrets),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not _healthy(f"http://127.0.0.1:{port}/_stcore/health"):
            assert proc.poll() is None, f"serve exited with {proc.returncode}"
            assert time.monotonic() < deadline, "the app never came up"
            time.sleep(0.5)
        listening = {
            c.laddr.ip
            for c in psutil.net_connections("inet")
            if c.laddr and c.laddr.port == port and c.status == "LISTEN"
        }
        assert listening & {"0.0.0.0", "::"}, listening  # every interface, not loopback only
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
