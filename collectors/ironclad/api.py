"""Ironclad public API transport: /records per record type (metadata first), /workflows by status."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors.auth import IroncladClientCredentials, SecretSource, StaticBearer, need
from collectors.base import Batch, CollectorError, Stream, StreamAbsent, StreamState
from collectors.http import (
    DEFAULT_TIMEOUT,
    HttpClient,
    MalformedResponse,
    Page,
    RetryPolicy,
    optional_int,
    page_number_pages,
    policy_for,
    require_object,
    require_records,
)
from collectors.http.cursor import CursorTracker, parse_timestamp
from collectors.ironclad.streams import record_types, streams

BASE_URL = "https://ironcladapp.com/public/api/v1"
TOKEN_URL = "https://ironcladapp.com/oauth/token"
MAX_PAGE_SIZE = 100
# /workflows returns only active workflows unless asked: every status is requested explicitly
WORKFLOW_STATUSES = ("active", "paused", "completed", "cancelled")
API_SETTINGS: list[Setting] = [
    Setting(
        "auth",
        str,
        "client_credentials",
        "OAuth client credentials or a legacy API key.",
        choices=("client_credentials", "api_key"),
    ),
    Setting("base_url", str, BASE_URL, "Public API base (EU: https://eu1.ironcladapp.com/public/api/v1)."),
    Setting("token_url", str, TOKEN_URL, "OAuth token endpoint (same host as the instance)."),
    Setting("client_id", str, "", "OAuth client id."),
    Setting("scope", str, "public.records.readRecords public.workflows.readWorkflows", "OAuth scopes."),
    Setting("as_user_email", str, "", "User the client-credentials calls act as (x-as-user-email)."),
    Setting("client_secret", str, None, "OAuth client secret.", secret=True),
    Setting("api_key", str, None, "Legacy API key (auth = 'api_key').", secret=True),
    Setting("page_size", int, MAX_PAGE_SIZE, "Records per page (1..100)."),
    Setting(
        "workflow_statuses", list, list(WORKFLOW_STATUSES), "Workflow statuses read, each asked explicitly."
    ),
]


def parse_list_page(doc: Any) -> Page:
    """A list envelope {page, pageSize, count, list}: records and the total count."""
    d = require_object(doc, "Ironclad list response")
    records = require_records(d.get("list"), "list")
    return Page(records, total=optional_int(d, "count"), page_size=optional_int(d, "pageSize") or None)


def parse_metadata(doc: Any) -> dict[str, Any]:
    """/records/metadata: {recordTypes: {key: {...}}, properties: {key: {...}}}, both objects."""
    d = require_object(doc, "Ironclad records metadata")
    for key in ("recordTypes", "properties"):
        if key in d and not isinstance(d[key], dict):
            raise MalformedResponse(f"metadata field {key!r} is not an object")
    return dict(d)


def record_type_of(stream: Stream, cfg: Mapping[str, Any]) -> str:
    """The tenant record type a stream reads: the source module's names, else the export file stem."""
    known = record_types(cfg)
    if stream.name in known:
        return known[stream.name]
    if stream.file_pattern:
        return PurePosixPath(stream.file_pattern).name.split(".")[0]
    return stream.name


def make_auth(cfg: Mapping[str, Any], secrets: SecretSource) -> httpx.Auth:
    """OAuth client credentials (default; needs as_user_email) or a legacy API key (auth = 'api_key')."""
    flow = cfg.get("auth") or "client_credentials"
    as_user = str(cfg.get("as_user_email") or "")
    if flow == "api_key":
        headers = {"x-as-user-email": as_user} if as_user else {}
        return StaticBearer(need("ironclad", cfg, secrets, "api_key", secret=True), headers)
    if flow != "client_credentials":
        raise CollectorError(
            f"[sources.ironclad] auth = {flow!r}: expected 'client_credentials' or 'api_key'"
        )
    if not as_user:
        raise CollectorError(
            "[sources.ironclad] as_user_email is required: client-credentials calls act as a user"
        )
    return IroncladClientCredentials(
        str(cfg.get("token_url") or TOKEN_URL),
        need("ironclad", cfg, secrets, "client_id", secret=False),
        need("ironclad", cfg, secrets, "client_secret", secret=True),
        as_user_email=as_user,
        scope=str(cfg.get("scope") or "public.records.readRecords public.workflows.readWorkflows"),
    )


class IroncladAPI:
    """The Collector over Ironclad's public API: records as the repository returns them."""

    source = "ironclad"

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
        self.base_url = str(cfg.get("base_url") or BASE_URL).rstrip("/")
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(cfg.get("page_size") or MAX_PAGE_SIZE)))
        self.http = HttpClient(
            auth=auth or make_auth(cfg, secrets),
            timeout=DEFAULT_TIMEOUT,
            policy=policy or policy_for(cfg),
            transport=transport,
            vendor="ironclad",
        )
        self._metadata: dict[str, Any] | None = None

    def streams(self) -> list[Stream]:
        return self._streams

    def metadata(self) -> dict[str, Any]:
        """GET /records/metadata once per run: record types and property keys are per tenant."""
        if self._metadata is None:
            self._metadata = self.http.request_json(
                "GET", f"{self.base_url}/records/metadata", parse=parse_metadata
            )
        return self._metadata

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        if stream.name == "records_metadata":
            yield Batch(records=[self.metadata()], source_file="api records/metadata", first_row=1)
        elif stream.name.startswith("workflow"):
            yield from self._workflows(stream, state)
        else:
            yield from self._records(stream, state)

    def _records(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        rtype = record_type_of(stream, self.cfg)
        known = self.metadata().get("recordTypes")
        if isinstance(known, dict) and known and rtype not in known:  # the tenant has no such type
            raise StreamAbsent(
                f"record type {rtype!r} is not in this tenant's /records/metadata"
                f" (known: {', '.join(sorted(known)[:20])}); set sources.{self.source}.record_types.{stream.name}"
                " if it has another key"
            )
        params: dict[str, Any] = {"types": rtype, "sortField": "lastUpdated", "sortDirection": "ASC"}
        since = parse_timestamp(state.cursor) if state.cursor else None
        if since is not None:
            params["lastUpdated"] = since.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        yield from self._pages(f"{self.base_url}/records", params, stream, state, f"api records/{rtype}")

    def _workflows(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        statuses = self.cfg.get("workflow_statuses") or WORKFLOW_STATUSES
        row = 1
        for status in statuses:
            params = {"status": status}
            for batch in self._pages(
                f"{self.base_url}/workflows", params, stream, None, f"api workflows/{status}"
            ):
                batch.first_row = row
                row += len(batch.records)
                yield batch

    def _pages(
        self, url: str, params: dict[str, Any], stream: Stream, state: StreamState | None, label: str
    ) -> Iterator[Batch]:
        cursor = CursorTracker(stream.cursor_field)
        row = 1
        for page in page_number_pages(
            self.http, url, page_size=self.page_size, params=params, parse=parse_list_page
        ):
            yield Batch(records=page.records, source_file=label, first_row=row)
            row += len(page.records)
            cursor.see(page.records)
        if state is not None and cursor.value:
            state.cursor = cursor.value


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> IroncladAPI:
    """The HTTP transport over the declared streams (collectors/ironclad/streams.py)."""
    return IroncladAPI(cfg, secrets, streams(cfg))
