"""NetSuite SuiteQL transport: limit/offset/hasMore pages, keyset windows past the 100k-row ceiling."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors._tolerant import Verdict as Tolerance
from collectors._tolerant import read_tolerant, vendor_words
from collectors.auth import NetSuiteM2M, NetSuiteTBA, SecretSource, need
from collectors.base import Batch, CollectorError, Column, Stream, StreamState
from collectors.files import FilesCollector
from collectors.http import (
    Action,
    HttpClient,
    HttpError,
    MalformedResponse,
    Page,
    RetryPolicy,
    Verdict,
    error_message,
    offset_pages,
    optional_int,
    policy_for,
    require_bool,
    require_object,
    require_records,
)
from collectors.http.cursor import CursorTracker, parse_timestamp
from collectors.netsuite.streams import BULK, streams

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
MAX_LIMIT = 1000
MAX_ROWS_PER_QUERY = 100_000  # REST SuiteQL stops serving a query past 100k rows
# sources disagree on how NetSuite rejects over-concurrency (vendor-apis.md §8.2): all of these retry
RETRY_CODES = {"CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED"}
API_SETTINGS: list[Setting] = [
    Setting("auth", str, "m2m", "OAuth 2.0 machine-to-machine or token-based auth.", choices=("m2m", "tba")),
    Setting("account_id", str, "", "Account id, e.g. 1234567_SB1 (host and OAuth realm derive from it)."),
    Setting("base_url", str, "", "SuiteTalk REST host; empty derives it from account_id."),
    Setting(
        "token_url", str, "", "M2M token endpoint; empty: <base_url>/services/rest/auth/oauth2/v1/token."
    ),
    Setting("client_id", str, "", "Integration record client id (M2M)."),
    Setting("certificate_id", str, "", "Certificate id from the M2M setup page (JWT kid)."),
    Setting("scope", str, "rest_webservices", "M2M scope(s), comma-separated."),
    Setting("consumer_key", str, "", "Integration record consumer key (TBA)."),
    Setting("token_id", str, "", "Access token id (TBA)."),
    Setting("private_key", str, None, "PEM private key of the M2M certificate.", secret=True),
    Setting("consumer_secret", str, None, "Integration record consumer secret (TBA).", secret=True),
    Setting("token_secret", str, None, "Access token secret (TBA).", secret=True),
    Setting("page_size", int, MAX_LIMIT, "SuiteQL limit per page (1..1000)."),
    Setting("max_rows_per_query", int, MAX_ROWS_PER_QUERY, "Rows per query before the next keyset window."),
    Setting("read_timeout", float, 300.0, "Seconds to wait for a SuiteQL page."),
    Setting("tables", dict, {}, "SuiteQL table per stream where it is not the export file's name."),
    Setting("filters", dict, {}, "Extra WHERE condition per stream, e.g. {invoice = \"type = 'CustInvc'\"}."),
    Setting(
        "bulk_path",
        str,
        "",
        "Directory of the bulk streams' saved-search / SuiteAnalytics CSV exports (timebill, transactionline,"
        " expense lines), read as files even when transport = 'api'; empty: query them over SuiteQL.",
    ),
]
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$", re.IGNORECASE)
# SuiteQL's words for what the account lacks (vendor-apis.md; USER_ERROR 400, INSUFFICIENT_PERMISSION 403)
_NO_RECORD = re.compile(r"Record '([^']+)' was not found", re.IGNORECASE)
_NO_FIELD = re.compile(r"Field '([^']+)' for record '[^']*' was not found|Unknown identifier '([^']+)'", re.I)
_NUMBER = re.compile(r"^-?\d{1,30}(\.\d{1,30})?$")


def is_bulk(stream: Stream) -> bool:
    """Bulk streams (millions of rows at tier m) come as CSV exports, as real firms pull them, not SuiteQL pages."""
    return stream.name in BULK or (stream.file_pattern or "").lower().endswith(".csv")


def classify(response: httpx.Response) -> Verdict | None:
    """400/403 with a concurrency error code is the account's shared pool being full: back off and retry."""
    if response.status_code in (400, 403):
        message, code = error_message(response)
        if code in RETRY_CODES or any(c in message for c in RETRY_CODES):
            return Verdict(Action.RETRY, f"{code or 'concurrency limit'} (account concurrency pool full)")
    return None


def parse_suiteql_page(doc: Any) -> Page:
    """A SuiteQL page: items (each minus its 'links'), hasMore; count/offset/totalResults when present."""
    d = require_object(doc, "SuiteQL response")
    items = require_records(d.get("items"), "items")
    has_more = require_bool(d, "hasMore")
    for key in ("count", "offset"):
        optional_int(d, key)
    total = optional_int(d, "totalResults")
    records = [{k: v for k, v in item.items() if k != "links"} for item in items]
    return Page(records, has_more=has_more, total=total)


def _ident(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise CollectorError(f"{what} {name!r} is not a valid SuiteQL identifier")
    return name


def _literal(value: Any, column: str) -> str:
    """A keyset value as a SuiteQL literal: numbers bare (ids are numbers sent as strings), text quoted."""
    if value is None or isinstance(value, (dict, list, bool)):
        raise CollectorError(
            f"a record has no usable {column!r} value, so the query cannot be windowed past its ceiling"
        )
    text = str(value)
    return text if _NUMBER.match(text) else "'" + text.replace("'", "''") + "'"


def table_of(stream: Stream, cfg: Mapping[str, Any]) -> str:
    """The SuiteQL table a stream reads: [tables] override, else the export file's stem, else its name."""
    tables = cfg.get("tables") or {}
    name = tables.get(stream.name) if isinstance(tables, Mapping) else None
    if not name and stream.file_pattern:
        name = PurePosixPath(stream.file_pattern).name.split(".")[0]
    return _ident(name or stream.name, f"table of stream {stream.name!r}")


def tolerance(exc: HttpError) -> Tolerance | None:
    """A table the account lacks or the role may not read: absent; an unknown column: drop it and retry."""
    if exc.status == 403 and (exc.code == "INSUFFICIENT_PERMISSION" or "INSUFFICIENT_PERMISSION" in str(exc)):
        return Tolerance(absent=vendor_words(exc))
    if exc.status != 400:
        return None
    text = str(exc)
    field = _NO_FIELD.search(text)
    if field:
        return Tolerance(column=field[1] or field[2])
    if _NO_RECORD.search(text):
        return Tolerance(absent=vendor_words(exc))
    return None


def suiteql(
    stream: Stream,
    table: str,
    *,
    where: str | None = None,
    since: str | None = None,
    after: tuple[str, ...] | None = None,
    columns: tuple[Column, ...] | None = None,
) -> str:
    """SELECT the declared columns (or those the account has), filtered, newer than the cursor, in key order."""
    key = stream.primary_key or ("id",)
    cols = ", ".join(_ident(c.name, "column") for c in (stream.columns if columns is None else columns))
    conds = [f"({where})"] if where else []
    if since and stream.cursor_field:
        # >=: NetSuite timestamps render to the minute, so the boundary minute is read again
        conds.append(
            f"{_ident(stream.cursor_field, 'cursor field')} >= TO_TIMESTAMP('{since}', 'YYYY-MM-DD HH24:MI:SS')"
        )
    if after is not None:
        # (k1, k2) > (v1, v2) spelled out: SuiteQL has no row-value comparison
        ors = []
        for i, k in enumerate(key):
            eqs = [f"{_ident(key[j], 'key')} = {after[j]}" for j in range(i)]
            ors.append("(" + " AND ".join([*eqs, f"{_ident(k, 'key')} > {after[i]}"]) + ")")
        conds.append("(" + " OR ".join(ors) + ")")
    text = f"SELECT {cols} FROM {table}"
    if conds:
        text += " WHERE " + " AND ".join(conds)
    return text + " ORDER BY " + ", ".join(_ident(k, "key") for k in key)


def base_url(cfg: Mapping[str, Any]) -> str:
    """Config's base_url, else the account's SuiteTalk host (account id lower-case with '-')."""
    if cfg.get("base_url"):
        return str(cfg["base_url"]).rstrip("/")
    account = str(cfg.get("account_id") or "").strip().lower().replace("_", "-")
    if not account:
        raise CollectorError("[sources.netsuite] account_id (or base_url) is required for transport = 'api'")
    return f"https://{account}.suitetalk.api.netsuite.com"


def make_auth(cfg: Mapping[str, Any], secrets: SecretSource) -> httpx.Auth:
    """OAuth 2.0 M2M (default, PS256 client assertion) or token-based auth (OAuth 1.0a HMAC-SHA256)."""
    flow = cfg.get("auth") or "m2m"
    if flow == "m2m":
        return NetSuiteM2M(
            str(cfg.get("token_url") or base_url(cfg) + TOKEN_PATH),
            need("netsuite", cfg, secrets, "client_id", secret=False),
            need("netsuite", cfg, secrets, "certificate_id", secret=False),
            need("netsuite", cfg, secrets, "private_key", secret=True),
            scope=cfg.get("scope") or ["rest_webservices"],
        )
    if flow == "tba":
        return NetSuiteTBA(
            need("netsuite", cfg, secrets, "account_id", secret=False),
            need("netsuite", cfg, secrets, "consumer_key", secret=False),
            need("netsuite", cfg, secrets, "consumer_secret", secret=True),
            need("netsuite", cfg, secrets, "token_id", secret=False),
            need("netsuite", cfg, secrets, "token_secret", secret=True),
        )
    raise CollectorError(f"[sources.netsuite] auth = {flow!r}: expected 'm2m' or 'tba'")


class NetSuiteAPI:
    """The Collector over SuiteQL: one keyset-windowed query per stream, items as the API returns them."""

    source = "netsuite"

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
        self.url = base_url(cfg) + SUITEQL_PATH
        self.limit = max(1, min(MAX_LIMIT, int(cfg.get("page_size") or MAX_LIMIT)))
        self.max_rows = max(self.limit, int(cfg.get("max_rows_per_query") or MAX_ROWS_PER_QUERY))
        read = float(cfg.get("read_timeout") or 300.0)  # long SuiteQL runs for minutes before its first byte
        self.http = HttpClient(
            auth=auth or make_auth(cfg, secrets),
            timeout=httpx.Timeout(connect=10.0, read=read, write=30.0, pool=10.0),
            policy=policy or policy_for(cfg),
            classify=classify,
            transport=transport,
            vendor="netsuite",
        )

    def streams(self) -> list[Stream]:
        return self._streams

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        """Windows of at most max_rows each, keyset on the primary key; the cursor advances at the end."""
        if self.cfg.get("bulk_path") and is_bulk(stream):
            files = FilesCollector(self.source, Path(str(self.cfg["bulk_path"])), self._streams)
            yield from files.read(stream, state)
            return
        table = table_of(stream, self.cfg)
        yield from read_tolerant(
            stream,
            lambda columns: self._windows(stream, state, table, columns),
            tolerance,
            kind="netsuite",
            source=self.source,
            cfg=self.cfg,
            have=lambda: self._columns_of(table),
        )

    def _columns_of(self, table: str) -> list[str]:
        """Columns one item of the table has (SuiteQL omits nulls: a hint, not the full list)."""
        doc = self.http.request_json(
            "POST",
            self.url,
            params={"limit": 1, "offset": 0},
            json_body={"q": f"SELECT * FROM {table}"},
            headers={"Prefer": "transient"},
            parse=parse_suiteql_page,
        )
        return sorted({k for rec in doc.records for k in rec})

    def _windows(
        self, stream: Stream, state: StreamState, table: str, columns: tuple[Column, ...]
    ) -> Iterator[Batch]:
        filters = self.cfg.get("filters") or {}
        where = filters.get(stream.name) if isinstance(filters, Mapping) else None
        since_dt = parse_timestamp(state.cursor) if state.cursor else None
        since = since_dt.strftime("%Y-%m-%d %H:%M:%S") if since_dt else None
        key = stream.primary_key or ("id",)
        cursor = CursorTracker(stream.cursor_field)
        after: tuple[str, ...] | None = None
        row = 1
        while True:
            query = suiteql(stream, table, where=where, since=since, after=after, columns=columns)
            last: Page | None = None
            for page in offset_pages(
                self.http,
                "POST",
                self.url,
                limit=self.limit,
                parse=parse_suiteql_page,
                json_body={"q": query},
                headers={"Prefer": "transient"},
                max_rows=self.max_rows,
                sensitive=(query,),
            ):
                last = page
                if page.records:
                    yield Batch(records=page.records, source_file=f"api suiteql {table}", first_row=row)
                    row += len(page.records)
                    cursor.see(page.records)
            if last is None or not last.has_more:
                break
            # the ceiling was reached with rows left: the next window starts after the last key read
            nxt = tuple(_literal(last.records[-1].get(k), k) for k in key)
            if nxt == after:
                raise MalformedResponse(f"the window after key {nxt} did not advance: the server ignores it")
            after = nxt
        if cursor.value:
            state.cursor = cursor.value


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> NetSuiteAPI:
    """The HTTP transport over the declared streams (collectors/netsuite/streams.py)."""
    return NetSuiteAPI(cfg, secrets, streams(cfg))
