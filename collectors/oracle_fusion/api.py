"""Oracle Fusion REST transport: /fscmRestApi/resources/<version>/<resource>, limit/offset/hasMore paging.

Every request pins REST-Framework-Version (each version changes the payload shape, so it is config, never the
server's default), asks onlyData=true and names its attributes with fields=. An attribute the pod does not have
(a flexfield segment not created, a renamed one) is refused by the server with a 400 naming it: the stream drops
it from fields= and asks again, and the column is NULL. Incremental reads filter q=LastUpdateDate>'<cursor>'.
Child resources (invoice lines, tasks) are read through their parent with expand=<child>.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors.auth import Basic, ClientCredentialsBasic, SecretSource, need
from collectors.base import Batch, CollectorError, Stream, StreamAbsent, StreamState
from collectors.http import (
    DEFAULT_TIMEOUT,
    HttpClient,
    HttpError,
    MalformedResponse,
    Page,
    RetryPolicy,
    offset_pages,
    optional_int,
    policy_for,
    require_bool,
    require_object,
    require_records,
)
from collectors.http.cursor import CursorTracker, parse_timestamp
from collectors.oracle_fusion.streams import API_VERSION, SPECS, Resource, resource, streams

MAX_LIMIT = 500  # Fusion serves at most 500 items per page for most resources
API_SETTINGS: list[Setting] = [
    Setting(
        "auth",
        str,
        "basic",
        "HTTP Basic (integration user) or OAuth client credentials (Oracle IAM).",
        choices=("basic", "client_credentials"),
    ),
    Setting(
        "base_url", str, "", "Pod URL, e.g. https://abcd.fa.us2.oraclecloud.com (REST paths are appended)."
    ),
    Setting("api_version", str, API_VERSION, "REST API version in the resource path."),
    Setting("framework_version", str, "4", "REST-Framework-Version header, pinned (1-9; payloads differ)."),
    Setting("username", str, "", "Integration user (auth = 'basic')."),
    Setting("password", str, None, "Integration user's password (auth = 'basic').", secret=True),
    Setting("token_url", str, "", "Oracle IAM / IDCS token endpoint (auth = 'client_credentials')."),
    Setting("client_id", str, "", "Confidential application client id (auth = 'client_credentials')."),
    Setting("client_secret", str, None, "Confidential application secret.", secret=True),
    Setting("scope", str, "urn:opc:resource:consumer::all", "OAuth scope of the Fusion resource."),
    Setting("page_size", int, MAX_LIMIT, "Items per page (limit), 1..500."),
]


def parse_collection(doc: Any) -> Page:
    """A collection envelope {items, count, hasMore, limit, offset[, totalResults]}."""
    d = require_object(doc, "Oracle REST collection")
    records = require_records(d.get("items"), "items")
    count = optional_int(d, "count")
    if count is not None and count != len(records):
        raise MalformedResponse(f"collection says count {count} but holds {len(records)} items")
    return Page(records, has_more=require_bool(d, "hasMore"), total=optional_int(d, "totalResults"))


def make_auth(cfg: Mapping[str, Any], secrets: SecretSource) -> httpx.Auth:
    flow = cfg.get("auth") or "basic"
    if flow == "basic":
        return Basic(
            need("oracle_fusion", cfg, secrets, "username", secret=False),
            need("oracle_fusion", cfg, secrets, "password", secret=True),
        )
    if flow != "client_credentials":
        raise CollectorError(
            f"[sources.oracle_fusion] auth = {flow!r}: expected 'basic' or 'client_credentials'"
        )
    if not cfg.get("token_url"):
        raise CollectorError("[sources.oracle_fusion] token_url is required for auth = 'client_credentials'")
    return ClientCredentialsBasic(
        str(cfg["token_url"]),
        need("oracle_fusion", cfg, secrets, "client_id", secret=False),
        need("oracle_fusion", cfg, secrets, "client_secret", secret=True),
        scope=str(cfg.get("scope") or "urn:opc:resource:consumer::all"),
    )


def _cursor_literal(value: str) -> str:
    """A q= timestamp literal: ISO 8601 with an offset, in single quotes."""
    when = parse_timestamp(value)
    if when is None:
        raise CollectorError(f"stored cursor {value!r} is not a timestamp")
    return "'" + when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00'"


class OracleFusionAPI:
    """The Collector over Fusion REST resources."""

    source = "oracle_fusion"

    def __init__(
        self,
        cfg: Mapping[str, Any],
        secrets: SecretSource,
        declared: list[Stream],
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.cfg, self._streams = cfg, declared
        if not cfg.get("base_url"):
            raise CollectorError("[sources.oracle_fusion] base_url is required for transport = 'api'")
        version = str(cfg.get("api_version") or API_VERSION)
        self.root = f"{str(cfg['base_url']).rstrip('/')}/fscmRestApi/resources/{version}"
        self.limit = max(1, min(MAX_LIMIT, int(cfg.get("page_size") or MAX_LIMIT)))
        self.headers = {"REST-Framework-Version": str(cfg.get("framework_version") or "4")}
        self.http = HttpClient(
            auth=auth or make_auth(cfg, secrets),
            timeout=DEFAULT_TIMEOUT,
            policy=policy or policy_for(cfg),
            transport=transport,
            vendor="oracle_fusion",
        )

    def streams(self) -> list[Stream]:
        return self._streams

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        res = resource(stream.name, self.cfg)
        fields = [c for c in stream.column_names() if not (res.child and c == res.parent_key)]
        missing: list[str] = []
        while True:
            try:
                yield from self._read(stream, state, res, fields, tuple(missing))
                return
            except HttpError as exc:
                gone = self._refused_fields(exc, fields, stream)
                if not gone:
                    raise
                missing += gone
                fields = [f for f in fields if f not in gone]

    def _refused_fields(self, exc: HttpError, fields: list[str], stream: Stream) -> list[str]:
        """The requested attributes a 400 says the resource lacks (the key is never optional)."""
        if exc.status == 404:
            raise StreamAbsent(f"resource not found on this pod: {exc.detail}") from None
        if exc.status != 400:
            return []
        named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", exc.detail))
        gone = [f for f in fields if f in named and f not in stream.primary_key]
        return gone

    def _read(
        self, stream: Stream, state: StreamState, res: Resource, fields: list[str], missing: tuple[str, ...]
    ) -> Iterator[Batch]:
        params: dict[str, Any] = {"onlyData": "true", "orderBy": f"{SPECS[stream.name][1]}:asc"}
        if res.child:
            parent_key = res.parent_key or ""
            params |= {"expand": res.child, "fields": f"{parent_key};{res.child}:{','.join(fields)}"}
            params["orderBy"] = f"{parent_key}:asc"
        else:
            params["fields"] = ",".join(fields)
            if state.cursor:
                params["q"] = f"LastUpdateDate>{_cursor_literal(state.cursor)}"
        cursor = CursorTracker(stream.cursor_field)
        row = 1
        url = f"{self.root}/{res.path}"
        for page in offset_pages(
            self.http,
            "GET",
            url,
            limit=self.limit,
            parse=parse_collection,
            headers=self.headers,
            params=params,
            by_count=True,
        ):
            records = self._children(page.records, res, fields) if res.child else page.records
            if records or missing:
                yield Batch(
                    records=records, source_file=f"api {res.path}", first_row=row, missing_fields=missing
                )
                row += len(records)
            if not res.child:
                cursor.see(records)
        if cursor.value and not res.child:
            state.cursor = cursor.value

    def _children(
        self, parents: list[dict[str, Any]], res: Resource, fields: list[str]
    ) -> list[dict[str, Any]]:
        """Child items of each parent, with the parent's key; a nested collection that says it has more is read
        from the child resource itself."""
        out: list[dict[str, Any]] = []
        key, child = res.parent_key or "", res.child or ""
        for parent in parents:
            nested = parent.get(child)
            if isinstance(nested, dict):  # framework version >= 3: children as a collection object
                page = parse_collection(nested)
                items = page.records
                if page.has_more:
                    items = self._child_collection(res, parent.get(key), fields)
            elif nested is None:
                items = []
            else:
                items = require_records(nested, child)
            out += [{**item, key: parent.get(key)} for item in items]
        return out

    def _child_collection(self, res: Resource, parent_id: Any, fields: list[str]) -> list[dict[str, Any]]:
        url = f"{self.root}/{res.path}/{parent_id}/child/{res.child}"
        params = {"onlyData": "true", "fields": ",".join(fields)}
        return [
            r
            for page in offset_pages(
                self.http,
                "GET",
                url,
                limit=self.limit,
                parse=parse_collection,
                headers=self.headers,
                params=params,
                by_count=True,
            )
            for r in page.records
        ]


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> OracleFusionAPI:
    """The HTTP transport over the declared streams (collectors/oracle_fusion/streams.py)."""
    return OracleFusionAPI(cfg, secrets, streams(cfg))
