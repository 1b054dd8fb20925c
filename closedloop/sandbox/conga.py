"""Conga CLM on the sandbox: the Apttus objects served by the sandbox's Salesforce, on the org's own host.

Conga CLM is a managed package inside the firm's Salesforce org: its agreements are SObjects of that org, read
with the org's OAuth token through the same /query, /sobjects and describe endpoints. So the sandbox serves them
from closedloop/sandbox/salesforce.py (exports/conga/*.jsonl join the org's objects, vendors.SALESFORCE_ORG), with
the Salesforce faults and error bodies; this plug-in mounts nothing of its own under /conga.
"""

from __future__ import annotations

import json

import httpx
from starlette.routing import Route

from closedloop.sandbox.state import Credentials, SandboxState

KIND = "conga"


class CongaAPI:
    """No routes of its own: the org's host (the Salesforce sandbox) serves the Apttus objects."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return []


def api(state: SandboxState) -> CongaAPI:
    return CongaAPI(state)


def source_config(base_url: str, creds: Credentials) -> dict[str, str]:
    """[sources.conga] API keys: the same org as [sources.salesforce] (its token endpoint and host)."""
    return {
        "transport": "api",
        "auth": "client_credentials",
        "token_url": f"{base_url}/services/oauth2/token",
        "instance_url": base_url,
        "client_id": creds.salesforce_client_id,
    }


def secrets(creds: Credentials) -> dict[str, str]:
    """The org's connected app secret, under this source's name (a firm may use a second connected app)."""
    return {"CLOSEDLOOP_CONGA_CLIENT_SECRET": creds.salesforce_client_secret}


def bare_loop(client: httpx.Client, base_url: str, creds: Credentials, cfg: dict | None = None) -> int:
    """A plain httpx loop over the same pages the collector reads: token, then each object's SOQL to the end,
    through a Bulk API 2.0 job where the estate's config sends it there (the conga profile: past 1,000 rows)."""
    from closedloop.demo.profiles import PROFILES
    from closedloop.sandbox import sf_bulk
    from collectors.conga import streams
    from collectors.salesforce.api import sobject_of, soql

    if cfg is None:
        cfg = dict(PROFILES["conga"].config_sections().get(KIND, {}))
    cfg = source_config(base_url, creds) | cfg
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.salesforce_client_id,
        "client_secret": creds.salesforce_client_secret,
    }
    token = client.post(cfg["token_url"], data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Sforce-Query-Options": "batchSize=2000"}
    query_url = f"{base_url}/services/data/v66.0/query"
    threshold = int(cfg.get("bulk_threshold") or 0)
    n = 0
    for stream in streams(cfg):
        sobject = sobject_of(stream, cfg)
        if threshold:
            count = client.get(query_url, params={"q": f"SELECT COUNT() FROM {sobject}"}, headers=headers)
            if count.json()["totalSize"] >= threshold:
                poll = float(cfg.get("bulk_poll_seconds", 0.5))
                n += sf_bulk.bare_loop(
                    client, base_url, token, soql(stream, sobject, None, cfg), poll_seconds=poll
                )
                continue
        params: dict[str, str] | None = {"q": soql(stream, sobject, None, cfg)}
        url: str | None = query_url
        while url:
            doc = json.loads(client.get(url, params=params, headers=headers).content)
            n += len(doc["records"])
            url, params = (None, None) if doc["done"] else (base_url + doc["nextRecordsUrl"], None)
    return n
