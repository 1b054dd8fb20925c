"""The sandbox's vendors beyond the three built in: one module per kind, mounted under its own path prefix.

A vendor module closedloop/sandbox/<kind>.py (kind = its collector's module name and source key) holds:
- `api(state: SandboxState)`: an object whose `routes()` lists its Starlette routes, written as on the
  vendor's own host; the sandbox mounts them under /<kind>, since one 127.0.0.1 port stands in for many hosts
  (two vendors both serve /oauth/token);
- `source_config(base_url: str, creds: Credentials) -> dict`: the [sources.<kind>] API transport keys for a
  sandbox at base_url (its routes are at base_url + '/' + kind), no secrets;
- `secrets(creds: Credentials) -> dict[str, str]`: the dummy secrets as CLOSEDLOOP_<KIND>_<NAME> variables.
"""

from __future__ import annotations

import importlib
from types import ModuleType

BUILT_IN = ("salesforce", "netsuite", "ironclad")
# each name is a module closedloop/sandbox/<kind>.py with the three functions above
PLUGINS: tuple[str, ...] = (
    "oracle_fusion",
    "dynamics_project",
    "dynamics_sales",
    "sap_s4",
    "docusign_clm",
    "icertis",
    "conga",
)
VENDORS = BUILT_IN + PLUGINS
# kinds whose objects live inside the Salesforce org (a managed package): the sandbox's Salesforce serves their
# exports (exports/<kind>/<Object>.jsonl) on its own host, beside the org's standard objects
SALESFORCE_ORG: tuple[str, ...] = ("conga",)


def module(kind: str) -> ModuleType:
    return importlib.import_module(f"closedloop.sandbox.{kind}")
