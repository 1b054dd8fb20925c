"""The sandbox server: one Starlette app for the three vendors on 127.0.0.1, uvicorn in a thread or in front."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from closedloop.sandbox.faults import Fault
from closedloop.sandbox.ironclad import IroncladAPI
from closedloop.sandbox.netsuite import NetSuiteAPI
from closedloop.sandbox.salesforce import SalesforceAPI
from closedloop.sandbox.state import Credentials, PageCaps, SandboxState
from closedloop.sandbox.vendors import PLUGINS
from closedloop.sandbox.vendors import module as vendor_module

HOST = "127.0.0.1"
log = logging.getLogger(__name__)


def build_app(state: SandboxState) -> Starlette:
    """The ASGI app: each vendor's routes under the paths its real hosts use (a plug-in vendor's under /<kind>),
    plus a health page."""
    vendors = [SalesforceAPI(state), NetSuiteAPI(state), IroncladAPI(state)]

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "exports": str(state.exports.root)})

    routes = [Route("/", health)]
    for vendor in vendors:
        routes += vendor.routes()
    for kind in PLUGINS:
        routes.append(Mount(f"/{kind}", routes=vendor_module(kind).api(state).routes()))
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


class Sandbox:
    """A running sandbox on 127.0.0.1 (port 0: a free one); `with Sandbox(dir) as sb:` starts and stops it."""

    def __init__(
        self,
        exports_dir: Path,
        *,
        faults: list[Fault] | None = None,
        credentials: Credentials | None = None,
        caps: PageCaps | None = None,
        port: int = 0,
    ) -> None:
        self.state = SandboxState(exports_dir, faults=faults, credentials=credentials, caps=caps)
        self.app = build_app(self.state)
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        assert self._socket is not None, "the sandbox is not started"
        return self._socket.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
        )

    def _bind(self) -> socket.socket:
        # proto must say TCP: asyncio only sets TCP_NODELAY on such sockets, else each keep-alive
        # response waits ~40 ms on Nagle + delayed ACK
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, self._port))
        sock.listen(128)
        sock.set_inheritable(True)
        self._socket = sock
        return sock

    def start(self, timeout: float = 10.0) -> Sandbox:
        """Serve in a daemon thread; returns once the server accepts connections."""
        sock = self._bind()
        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="closedloop-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {HOST}:{self.port}")
            time.sleep(0.01)
        return self

    def serve_forever(self, announce: Callable[[str], None] | None = None) -> None:
        """Serve in the calling thread until interrupted (the `closedloop sandbox` command)."""
        sock = self._bind()
        if announce:
            announce(self.base_url)
        self._server = uvicorn.Server(self._config())
        self._server.run(sockets=[sock])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- how a closedloop config reaches it -----------------------------------------------------------
    def source_config(self, *, bulk_path: str | Path | None = None) -> dict[str, dict[str, Any]]:
        """[sources.<vendor>] keys pointing the API transports at this sandbox (no secrets: see secrets())."""
        return source_config(self.base_url, self.state.credentials, bulk_path=bulk_path)

    def secrets(self) -> dict[str, str]:
        """The dummy secrets as the environment variables the collectors read (CLOSEDLOOP_<SOURCE>_<NAME>)."""
        return secret_env(self.state.credentials)


def source_config(
    base_url: str, creds: Credentials, *, bulk_path: str | Path | None = None
) -> dict[str, dict[str, Any]]:
    """The API transport settings of every vendor source the sandbox serves, for a sandbox at base_url."""
    netsuite: dict[str, Any] = {
        "transport": "api",
        "auth": "m2m" if creds.private_key_pem else "tba",
        "account_id": creds.netsuite_account_id,
        "base_url": base_url,
    }
    if creds.private_key_pem:
        netsuite |= {"client_id": creds.netsuite_client_id, "certificate_id": creds.netsuite_certificate_id}
    else:
        netsuite |= {"consumer_key": creds.netsuite_consumer_key, "token_id": creds.netsuite_token_id}
    if bulk_path is not None:
        netsuite["bulk_path"] = str(bulk_path)
    plugins = {kind: vendor_module(kind).source_config(base_url, creds) for kind in PLUGINS}
    return plugins | {
        "salesforce": {
            "transport": "api",
            "auth": "client_credentials",
            "token_url": f"{base_url}/services/oauth2/token",
            "client_id": creds.salesforce_client_id,
        },
        "netsuite": netsuite,
        "ironclad": {
            "transport": "api",
            "auth": "client_credentials",
            "base_url": f"{base_url}/public/api/v1",
            "token_url": f"{base_url}/oauth/token",
            "client_id": creds.ironclad_client_id,
            "as_user_email": creds.ironclad_user_email,
        },
    }


def secret_env(creds: Credentials) -> dict[str, str]:
    env = {
        "CLOSEDLOOP_SALESFORCE_CLIENT_SECRET": creds.salesforce_client_secret,
        "CLOSEDLOOP_IRONCLAD_CLIENT_SECRET": creds.ironclad_client_secret,
        "CLOSEDLOOP_NETSUITE_CONSUMER_SECRET": creds.netsuite_consumer_secret,
        "CLOSEDLOOP_NETSUITE_TOKEN_SECRET": creds.netsuite_token_secret,
    }
    if creds.private_key_pem:
        env["CLOSEDLOOP_NETSUITE_PRIVATE_KEY"] = creds.private_key_pem
        env["CLOSEDLOOP_SALESFORCE_PRIVATE_KEY"] = creds.private_key_pem
    for kind in PLUGINS:
        env |= vendor_module(kind).secrets(creds)
    return env
