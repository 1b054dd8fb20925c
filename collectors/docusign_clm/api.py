"""DocuSign Navigator transport: JWT-grant OAuth, GET /v1/accounts/{accountId}/agreements, `ctoken` continuation
paging followed through `_links.next.href` (the engine's next-link paginator)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors.auth import DocuSignJWTGrant, SecretSource, need
from collectors.base import Batch, Stream, StreamState
from collectors.http import (
    DEFAULT_TIMEOUT,
    HttpClient,
    MalformedResponse,
    Page,
    RetryPolicy,
    next_link_pages,
    policy_for,
    require_object,
    require_records,
)

BASE_URL = "https://api-d.docusign.com"  # production: https://api.docusign.com
TOKEN_URL = (
    "https://account-d.docusign.com/oauth/token"  # production: https://account.docusign.com/oauth/token
)
SCOPE = "signature impersonation adm_store_unified_repo_read models_read"
MAX_PAGE_SIZE = 100
API_SETTINGS: list[Setting] = [
    Setting("base_url", str, BASE_URL, "Navigator API host (demo https://api-d.docusign.com)."),
    Setting("token_url", str, TOKEN_URL, "OAuth token endpoint of the account server (JWT grant)."),
    Setting("account_id", str, "", "DocuSign account id (GUID) whose agreements are read."),
    Setting("integration_key", str, "", "The app's integration key (OAuth client id), the assertion's iss."),
    Setting("user_id", str, "", "User id (GUID) the JWT grant impersonates, the assertion's sub."),
    Setting("scope", str, SCOPE, "OAuth scopes of the assertion."),
    Setting("private_key", str, None, "RSA private key (PEM) of the integration key.", secret=True),
    Setting("page_size", int, MAX_PAGE_SIZE, "Agreements per page, the `limit` parameter (1..100)."),
]


def parse_agreements_page(doc: Any) -> Page:
    """{data, response_metadata, _links: {next: {href}}}: the agreements and the next page's link, if any."""
    d = require_object(doc, "Navigator agreements response")
    records = require_records(d.get("data"), "data")
    links = d.get("_links") or {}
    if not isinstance(links, dict):
        raise MalformedResponse("page field '_links' is not an object")
    nxt = links.get("next")
    href = nxt.get("href") if isinstance(nxt, dict) else None
    if href is not None and not isinstance(href, str):
        raise MalformedResponse("page field '_links.next.href' is not a string")
    return Page(records, next_url=href or None)


def make_auth(cfg: Mapping[str, Any], secrets: SecretSource) -> httpx.Auth:
    return DocuSignJWTGrant(
        str(cfg.get("token_url") or TOKEN_URL),
        need("docusign_clm", cfg, secrets, "integration_key", secret=False),
        need("docusign_clm", cfg, secrets, "user_id", secret=False),
        need("docusign_clm", cfg, secrets, "private_key", secret=True),
        scope=str(cfg.get("scope") or SCOPE),
    )


class NavigatorAPI:
    """The Collector over the Navigator agreements listing."""

    source = "docusign_clm"

    def __init__(
        self,
        cfg: Mapping[str, Any],
        secrets: SecretSource,
        streams: list[Stream],
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.cfg, self._streams = cfg, streams
        self.account_id = need("docusign_clm", cfg, secrets, "account_id", secret=False)
        self.base_url = str(cfg.get("base_url") or BASE_URL).rstrip("/")
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(cfg.get("page_size") or MAX_PAGE_SIZE)))
        self.http = HttpClient(
            auth=auth or make_auth(cfg, secrets),
            timeout=DEFAULT_TIMEOUT,
            policy=policy or policy_for(cfg),
            transport=transport,
            vendor="docusign_clm",
        )

    def streams(self) -> list[Stream]:
        return self._streams

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        url = f"{self.base_url}/v1/accounts/{self.account_id}/agreements"
        row = 1
        for page in next_link_pages(
            self.http, url, params={"limit": self.page_size}, parse=parse_agreements_page
        ):
            yield Batch(records=page.records, source_file="api agreements", first_row=row)
            row += len(page.records)


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> NavigatorAPI:
    from collectors.docusign_clm.streams import streams

    return NavigatorAPI(cfg, secrets, streams(cfg))
