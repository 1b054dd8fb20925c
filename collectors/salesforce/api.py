"""Salesforce REST transport: SOQL over /query, nextRecordsUrl to the end, incremental on SystemModstamp."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors._tolerant import Verdict as Tolerance
from collectors._tolerant import read_tolerant
from collectors.auth import (
    SALESFORCE_TOKEN_URL,
    SalesforceClientCredentials,
    SalesforceJWTBearer,
    SecretSource,
    need,
)
from collectors.base import Batch, CollectorError, Column, Stream, StreamState
from collectors.http import (
    DEFAULT_TIMEOUT,
    Action,
    HttpClient,
    HttpError,
    MalformedResponse,
    Page,
    RetryPolicy,
    Verdict,
    error_message,
    next_link_pages,
    optional_int,
    policy_for,
    rate_limited,
    require_bool,
    require_object,
    require_records,
)
from collectors.http.cursor import CursorTracker, iso_seconds
from collectors.salesforce.bulk import BULK_SETTINGS, bulk_pages, count_soql, wants_bulk
from collectors.salesforce.streams import streams

DEFAULT_API_VERSION = "v66.0"
# [sources.salesforce] keys of transport = 'api' (the module's SETTINGS already has api_version)
API_SETTINGS: list[Setting] = [
    Setting("auth", str, "client_credentials", "OAuth flow.", choices=("client_credentials", "jwt_bearer")),
    Setting(
        "token_url",
        str,
        SALESFORCE_TOKEN_URL,
        "OAuth token endpoint (My Domain host for client credentials).",
    ),
    Setting("instance_url", str, "", "REST host; empty takes the instance_url of the token response."),
    Setting("client_id", str, "", "Connected app consumer key."),
    Setting("username", str, "", "User the JWT bearer flow acts as (sub)."),
    Setting(
        "audience", str, "", "JWT aud; empty: login.salesforce.com, or test.salesforce.com for sandboxes."
    ),
    Setting("client_secret", str, None, "Connected app secret (client credentials).", secret=True),
    Setting("private_key", str, None, "PEM private key of the JWT bearer certificate.", secret=True),
    Setting("batch_size", int, 2000, "Sforce-Query-Options batchSize hint (200..2000)."),
    Setting("include_deleted", bool, False, "Use queryAll: also recycle-bin (IsDeleted) records."),
    Setting("objects", dict, {}, "SObject per stream where it is not the export file's name."),
    Setting("relationship_fields", dict, {}, "Fields selected per relationship column (default ['Name'])."),
    *BULK_SETTINGS,  # Bulk API 2.0 for volume (collectors/salesforce/bulk.py)
]
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
# /query's words for what the org lacks (INVALID_TYPE / INVALID_FIELD, HTTP 400)
_NO_TYPE = re.compile(r"sObject type '([^']+)' is not supported\.?")
_NO_FIELD = re.compile(r"No such column '([^']+)' on entity '([^']+)'")


def classify(response: httpx.Response) -> Verdict | None:
    """403 REQUEST_LIMIT_EXCEEDED: TotalRequests (daily allowance) stops the source, ConcurrentRequests retries."""
    if response.status_code not in (403, 429):
        return None  # 429 is not documented for REST; the default retries it anyway
    message, code = error_message(response)
    if code != "REQUEST_LIMIT_EXCEEDED" and "REQUEST_LIMIT_EXCEEDED" not in message:
        return None
    if "TotalRequests" in message:
        return Verdict(
            Action.STOP, "the org's 24-hour API request allowance is used up; it frees up on a rolling window"
        )
    if "ConcurrentRequests" in message or "oncurrent" in message:
        return Verdict(
            Action.RETRY, f"HTTP {response.status_code} REQUEST_LIMIT_EXCEEDED (concurrent requests)"
        )
    if response.status_code == 429:  # a rate limit, in the words the body and Retry-After give
        return Verdict(Action.RETRY, rate_limited(response))
    # a limit whose body does not say which: back off, and say what the vendor said
    return Verdict(Action.RETRY, f"HTTP {response.status_code} REQUEST_LIMIT_EXCEEDED: {message[:200]}")


def parse_query_page(doc: Any) -> Page:
    """A /query page: records, done, and nextRecordsUrl while not done."""
    d = require_object(doc, "SOQL query response")
    records = require_records(d.get("records"), "records")
    done = require_bool(d, "done")
    total = optional_int(d, "totalSize")
    if done:
        return Page(records, total=total)
    nxt = d.get("nextRecordsUrl")
    if not isinstance(nxt, str) or not nxt.strip():
        raise MalformedResponse("page says done=false but has no nextRecordsUrl")
    return Page(records, next_url=nxt, total=total)


def sobject_of(stream: Stream, cfg: Mapping[str, Any]) -> str:
    """The SObject a stream reads: [objects] override, else the export file's stem (Account.jsonl)."""
    objects = cfg.get("objects") or {}
    name = objects.get(stream.name) if isinstance(objects, Mapping) else None
    if not name and stream.file_pattern:
        name = PurePosixPath(stream.file_pattern).name.split(".")[0]
    return _api_name(name or stream.name, f"object of stream {stream.name!r}")


def tolerance(exc: HttpError) -> Tolerance | None:
    """An object the org lacks (or the user cannot see): absent; an unknown field: drop it and retry.

    Only the sentence naming the object or field is kept: the vendor's message quotes the query around it.
    """
    if exc.status != 400:
        return None
    text = str(exc)
    field = _NO_FIELD.search(text)
    if exc.code == "INVALID_FIELD" and field:
        return Tolerance(column=field[1])
    missing = _NO_TYPE.search(text)
    if exc.code == "INVALID_TYPE" and missing:
        return Tolerance(absent=f"INVALID_TYPE: {missing[0]}")
    return None


def soql(
    stream: Stream,
    sobject: str,
    cursor: str | None,
    cfg: Mapping[str, Any],
    columns: tuple[Column, ...] | None = None,
) -> str:
    """SELECT the declared columns (relationships as Rel.Name), newer than the cursor, in cursor order."""
    rel_fields = cfg.get("relationship_fields") or {}
    fields: list[str] = []
    for c in stream.columns if columns is None else columns:
        if c.type == "JSON":  # a relationship object: ask for its fields, the record nests them
            subs = rel_fields.get(c.name, ["Name"]) if isinstance(rel_fields, Mapping) else ["Name"]
            fields += [_api_name(f"{c.name}.{s}", "relationship field") for s in subs]
        else:
            fields.append(_api_name(c.name, "field"))
    text = f"SELECT {', '.join(fields)} FROM {sobject}"
    where = cursor_where(stream, cursor)
    if where:
        text += f" WHERE {where}"
    if stream.cursor_field:
        text += f" ORDER BY {_api_name(stream.cursor_field, 'cursor field')}"
    return text


def cursor_where(stream: Stream, cursor: str | None) -> str:
    """The incremental condition (empty on a full read): SOQL datetime literals are unquoted; truncating
    to the second re-reads that second's tail."""
    since = iso_seconds(cursor) if cursor and stream.cursor_field else None
    return f"{_api_name(stream.cursor_field, 'cursor field')} > {since}" if since else ""


def _api_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise CollectorError(f"{what} {name!r} is not a valid Salesforce API name")
    return name


def make_auth(
    cfg: Mapping[str, Any], secrets: SecretSource, source: str = "salesforce"
) -> SalesforceClientCredentials:
    """The configured OAuth flow: client_credentials (default) or jwt_bearer; `source` names the section."""
    token_url = cfg.get("token_url") or SALESFORCE_TOKEN_URL
    client_id = need(source, cfg, secrets, "client_id", secret=False)
    flow = cfg.get("auth") or "client_credentials"
    if flow == "client_credentials":
        return SalesforceClientCredentials(
            token_url, client_id, need(source, cfg, secrets, "client_secret", secret=True)
        )
    if flow == "jwt_bearer":
        return SalesforceJWTBearer(
            token_url,
            client_id,
            need(source, cfg, secrets, "username", secret=False),
            need(source, cfg, secrets, "private_key", secret=True),
            audience=cfg.get("audience") or None,
        )
    raise CollectorError(f"[sources.{source}] auth = {flow!r}: expected 'client_credentials' or 'jwt_bearer'")


class SalesforceAPI:
    """The Collector over Salesforce REST: one SOQL query per stream, records exactly as /query sends them.

    `source` is the config section it serves: salesforce, or a package living in the same org (conga).
    """

    source = "salesforce"

    def __init__(
        self,
        cfg: Mapping[str, Any],
        secrets: SecretSource,
        streams: list[Stream],
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        auth: SalesforceClientCredentials | None = None,
        source: str = "salesforce",
    ) -> None:
        self.cfg, self._streams, self.source = cfg, streams, source
        version = str(cfg.get("api_version") or DEFAULT_API_VERSION)
        self.api_version = version if version.startswith("v") else f"v{version}"
        self.auth = auth or make_auth(cfg, secrets, source)
        self.http = HttpClient(
            auth=self.auth,
            timeout=DEFAULT_TIMEOUT,
            policy=policy or policy_for(cfg),
            classify=classify,
            transport=transport,
            vendor="salesforce",
        )

    def streams(self) -> list[Stream]:
        return self._streams

    def instance_url(self) -> str:
        """Config's instance_url (a sandbox or test server), else the one the token response names."""
        configured = self.cfg.get("instance_url")
        if configured:
            return str(configured).rstrip("/")
        self.auth.ensure(self.http)
        if not self.auth.instance_url:
            raise CollectorError(
                f"the token response named no instance_url; set [sources.{self.source}] instance_url"
            )
        return self.auth.instance_url

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        """Page through one SOQL query; the cursor advances only when the stream was read to the end."""
        sobject = sobject_of(stream, self.cfg)
        yield from read_tolerant(
            stream,
            lambda columns: self._query(stream, state, sobject, columns),
            tolerance,
            kind=self.source,
            source=self.source,
            cfg=self.cfg,
            have=lambda: self._fields_of(sobject),
        )

    def _fields_of(self, sobject: str) -> list[str]:
        """The object's field names, from one record of FIELDS(ALL) (null fields included, unlike NetSuite)."""
        doc = self.http.request_json(
            "GET",
            self.instance_url() + f"/services/data/{self.api_version}/query",
            params={"q": f"SELECT FIELDS(ALL) FROM {sobject} LIMIT 1"},
            parse=parse_query_page,
        )
        return sorted({k for rec in doc.records for k in rec if k != "attributes"})

    def _query(
        self, stream: Stream, state: StreamState, sobject: str, columns: tuple[Column, ...]
    ) -> Iterator[Batch]:
        query = soql(stream, sobject, state.cursor, self.cfg, columns)
        resource = "queryAll" if self.cfg.get("include_deleted") else "query"
        path = f"/services/data/{self.api_version}/{resource}"
        headers = {}
        if self.cfg.get("batch_size"):  # 200..2000, a hint the server may shrink
            headers["Sforce-Query-Options"] = f"batchSize={max(200, min(2000, int(self.cfg['batch_size'])))}"
        cursor = CursorTracker(stream.cursor_field)
        row = 1
        if self._use_bulk(stream, sobject, state.cursor, columns):
            pages = bulk_pages(self.http, self.instance_url(), self.api_version, query, columns, self.cfg)
        else:
            pages = next_link_pages(
                self.http,
                self.instance_url() + path,
                params={"q": query},
                headers=headers,
                parse=parse_query_page,
                sensitive=(query,),
            )
        for page in pages:
            if page.records:
                yield Batch(records=page.records, source_file=f"api {sobject}", first_row=row)
                row += len(page.records)
                cursor.see(page.records)
        if cursor.value:
            state.cursor = cursor.value

    def _use_bulk(
        self, stream: Stream, sobject: str, cursor: str | None, columns: tuple[Column, ...]
    ) -> bool:
        """Bulk API 2.0 for a listed stream, or one whose COUNT() of rows to read reaches bulk_threshold."""
        how = wants_bulk(self.cfg, stream, columns)
        if how != "count":
            return how == "always"
        resource = "queryAll" if self.cfg.get("include_deleted") else "query"
        query = count_soql(sobject, cursor_where(stream, cursor))
        page = self.http.request_json(
            "GET",
            self.instance_url() + f"/services/data/{self.api_version}/{resource}",
            params={"q": query},
            parse=parse_query_page,
        )
        return (page.total or 0) >= int(self.cfg["bulk_threshold"])


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> SalesforceAPI:
    """The HTTP transport over the declared streams (collectors/salesforce/streams.py)."""
    return SalesforceAPI(cfg, secrets, streams(cfg))
