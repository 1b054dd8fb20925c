"""Dynamics 365 Project Operations on the sandbox: the Dataverse Web API (closedloop/sandbox/_dataverse.py)."""

from __future__ import annotations

from typing import Any

import httpx

from closedloop.sandbox import _dataverse
from closedloop.sandbox.state import Credentials, SandboxState

KIND = "dynamics_project"


def api(state: SandboxState) -> _dataverse.DataverseAPI:
    return _dataverse.DataverseAPI(KIND, state)


def source_config(base_url: str, creds: Credentials) -> dict[str, Any]:
    return _dataverse.source_config(KIND, base_url, creds)


def secrets(creds: Credentials) -> dict[str, str]:
    return _dataverse.secrets(KIND, creds)


def bare_loop(client: httpx.Client, base_url: str, creds: Credentials) -> int:
    from collectors.dynamics_project.entities import ALL

    return _dataverse.bare_loop(KIND, [e.entity_set for e in ALL], client, base_url, creds)
