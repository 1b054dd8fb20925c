"""Dataverse Web API transport (both Dynamics kinds): Entra ID token, $select + $filter on modifiedon, Prefer
odata.maxpagesize with @odata.nextLink followed as sent, option-set labels as formatted-value annotations."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors._dataverse import FORMATTED, Entity
from collectors._tolerant import Verdict as Tolerance
from collectors._tolerant import read_tolerant
from collectors.auth import ClientCredentials, SecretSource, need
from collectors.base import Batch, CollectorError, Column, Stream, StreamState
from collectors.http import DEFAULT_TIMEOUT, HttpClient, HttpError, RetryPolicy, next_link_pages, policy_for
from collectors.http.cursor import CursorTracker, iso_seconds
from collectors.http.odata_v4 import parse_odata_page, prefer

TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
MAX_PAGE_SIZE = 5000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Dataverse's words (HTTP 404 / 400, code 0x80060888) for a table or column this environment lacks
_NO_SET = re.compile(r"Resource not found for the segment '([^']+)'")
_NO_PROP = re.compile(r"Could not find a property named '([^']+)'")


def api_settings(example_org: str) -> list[Setting]:
    """[sources.<kind>] keys of transport = 'api' (the same for Sales and Project Operations)."""
    return [
        Setting("org_url", str, example_org, "Environment URL (https://<org>.crm.dynamics.com)."),
        Setting("tenant_id", str, "", "Entra ID tenant (directory) id or domain."),
        Setting("token_url", str, TOKEN_URL, "Entra ID v2.0 token endpoint; {tenant} is tenant_id."),
        Setting("scope", str, "", "Token scope; empty: <org_url>/.default."),
        Setting("client_id", str, "", "App registration (application) id of the application user."),
        Setting("client_secret", str, None, "App registration client secret.", secret=True),
        Setting("api_version", str, "v9.2", "Web API version in /api/data/<version>/."),
        Setting("page_size", int, MAX_PAGE_SIZE, "Prefer: odata.maxpagesize (1..5000)."),
        Setting("entity_sets", dict, {}, "Entity set name per stream where the environment's differs."),
    ]


def tolerance(exc: HttpError, stream: Stream) -> Tolerance | None:
    """A table the environment lacks is absent; an unknown column is dropped (named as declared)."""
    text = str(exc)
    missing = _NO_SET.search(text)
    if exc.status == 404 and missing:
        return Tolerance(absent=f"{exc.code or 'HTTP 404'}: {missing[0]}")
    prop = _NO_PROP.search(text)
    if exc.status == 400 and prop:
        name = prop[1].lower()
        col = next((c.name for c in stream.columns if c.name.lower().split("@")[0] == name), prop[1])
        return Tolerance(column=col)
    return None


def select_of(columns: tuple[Column, ...]) -> str:
    """$select: attributes as the Web API names them (an option set's label comes as its annotation)."""
    names = list(dict.fromkeys(c.name.split("@")[0] for c in columns))
    for n in names:
        if not _NAME.match(n):
            raise CollectorError(f"column {n!r} is not a valid Dataverse attribute logical name")
    return ",".join(names)


class DataverseAPI:
    """The Collector over the Dataverse Web API: each stream one entity set, rows exactly as the API sends them."""

    def __init__(
        self,
        kind: str,
        cfg: Mapping[str, Any],
        secrets: SecretSource,
        streams: list[Stream],
        entities: list[Entity],
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.source, self.cfg, self._streams = kind, cfg, streams
        self.sets = {e.stream: e.entity_set for e in entities} | dict(cfg.get("entity_sets") or {})
        self.org_url = str(cfg.get("org_url") or "").rstrip("/")
        if not self.org_url.startswith(("https://", "http://")):
            raise CollectorError(
                f"[sources.{kind}] org_url must be the environment URL, got {self.org_url!r}"
            )
        version = str(cfg.get("api_version") or "v9.2")
        self.base = f"{self.org_url}/api/data/{version if version.startswith('v') else 'v' + version}"
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(cfg.get("page_size") or MAX_PAGE_SIZE)))
        self.auth = auth or self._auth(secrets)
        self.http = HttpClient(
            auth=self.auth,
            timeout=DEFAULT_TIMEOUT,
            policy=policy or policy_for(cfg),
            transport=transport,
            vendor=kind,
        )

    def _auth(self, secrets: SecretSource) -> ClientCredentials:
        tenant = str(self.cfg.get("tenant_id") or "")
        token_url = str(self.cfg.get("token_url") or TOKEN_URL)
        if "{tenant}" in token_url:
            if not tenant:
                raise CollectorError(f"[sources.{self.source}] tenant_id is required for the Entra ID token")
            token_url = token_url.replace("{tenant}", tenant)
        scope = str(self.cfg.get("scope") or "") or f"{self.org_url}/.default"
        return ClientCredentials(
            token_url,
            need(self.source, self.cfg, secrets, "client_id", secret=False),
            need(self.source, self.cfg, secrets, "client_secret", secret=True),
            scope=scope,
        )

    def streams(self) -> list[Stream]:
        return self._streams

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        yield from read_tolerant(
            stream,
            lambda columns: self._pages(stream, state, columns),
            lambda exc: tolerance(exc, stream),
            kind=self.source,
            source=self.source,
            cfg=self.cfg,
            have=lambda: [c.name for c in stream.columns],
        )

    def _pages(self, stream: Stream, state: StreamState, columns: tuple[Column, ...]) -> Iterator[Batch]:
        entity_set = self.sets.get(stream.name, stream.name)
        if not _NAME.match(entity_set):
            raise CollectorError(f"entity set {entity_set!r} of stream {stream.name!r} is not a valid name")
        params: dict[str, Any] = {"$select": select_of(columns)}
        if stream.cursor_field:
            since = iso_seconds(state.cursor) if state.cursor else None
            if since:  # DateTimeOffset literals are unquoted; truncated to the second, so its tail is re-read
                params["$filter"] = f"{stream.cursor_field} gt {since}"
            params["$orderby"] = f"{stream.cursor_field} asc,{stream.primary_key[0]} asc"
        headers = {
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            "Prefer": prefer(self.page_size),
        }
        cursor = CursorTracker(stream.cursor_field)
        row = 1
        for page in next_link_pages(
            self.http, f"{self.base}/{entity_set}", params=params, headers=headers, parse=parse_odata_page
        ):
            if page.records:
                yield Batch(records=page.records, source_file=f"api {entity_set}", first_row=row)
                row += len(page.records)
                cursor.see(page.records)
        if cursor.value:
            state.cursor = cursor.value


__all__ = ["FORMATTED", "DataverseAPI", "api_settings", "tolerance"]
