"""The generic REST source: any undocumented system connected by configuration alone (base URL, auth, paging
style, record path, an endpoint and field names per stream). A vendor kind without a public contract (icertis)
declares its defaults and streams and uses this collector; nothing here knows a vendor."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors.auth import ClientCredentials, SecretSource, StaticBearer, need
from collectors.base import Batch, CollectorError, Stream, StreamAbsent, StreamState
from collectors.http import DEFAULT_TIMEOUT, HttpClient, HttpError, RetryPolicy, policy_for
from collectors.http.generic import STYLES, PagingSpec, configured_pages, dig

AUTHS = ("none", "basic", "bearer", "client_credentials")


def rest_settings(defaults: Mapping[str, Any]) -> list[Setting]:
    """The API transport settings of a generic REST source, with a kind's own defaults."""
    d = {**PAGING_DEFAULTS, **defaults}
    return [
        Setting(
            "base_url", str, d.get("base_url", ""), "API root; each stream's endpoint is relative to it."
        ),
        Setting(
            "auth", str, d.get("auth", "none"), "none, basic, bearer or client_credentials.", choices=AUTHS
        ),
        Setting(
            "token_url", str, d.get("token_url", ""), "OAuth token endpoint (auth = 'client_credentials')."
        ),
        Setting("client_id", str, "", "OAuth client id (auth = 'client_credentials')."),
        Setting("scope", str, d.get("scope", ""), "OAuth scope (auth = 'client_credentials')."),
        Setting("username", str, "", "User name (auth = 'basic')."),
        Setting("client_secret", str, None, "OAuth client secret.", secret=True),
        Setting("password", str, None, "Password (auth = 'basic').", secret=True),
        Setting("token", str, None, "Static bearer token / API key (auth = 'bearer').", secret=True),
        Setting(
            "paging", str, d["paging"], "Paging style: offset, page, cursor or next_link.", choices=STYLES
        ),
        Setting("page_size", int, d["page_size"], "Records asked per page."),
        Setting(
            "record_path", str, d["record_path"], "Dotted path of the record list in a page ('' = the body)."
        ),
        Setting(
            "total_path", str, d["total_path"], "Dotted path of the total count ('' = stop at a short page)."
        ),
        Setting("limit_param", str, d["limit_param"], "Query parameter of the page size."),
        Setting("offset_param", str, d["offset_param"], "Query parameter of the offset (paging = 'offset')."),
        Setting("page_param", str, d["page_param"], "Query parameter of the page number (paging = 'page')."),
        Setting("first_page", int, d["first_page"], "Number of the first page (paging = 'page')."),
        Setting("cursor_param", str, d["cursor_param"], "Query parameter of the cursor (paging = 'cursor')."),
        Setting("cursor_path", str, d["cursor_path"], "Dotted path of the next cursor (paging = 'cursor')."),
        Setting(
            "next_path", str, d["next_path"], "Dotted path of the next page's URL (paging = 'next_link')."
        ),
    ]


PAGING_DEFAULTS: dict[str, Any] = {
    "paging": "offset",
    "page_size": 100,
    "record_path": "data",
    "total_path": "",
    "limit_param": "limit",
    "offset_param": "offset",
    "page_param": "page",
    "first_page": 1,
    "cursor_param": "cursor",
    "cursor_path": "next_cursor",
    "next_path": "next",
}


def paging_spec(cfg: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> PagingSpec:
    d = {**PAGING_DEFAULTS, **(defaults or {})}
    pick = {k: (cfg.get(k) if cfg.get(k) is not None else d[k]) for k in PAGING_DEFAULTS}
    pick["style"] = pick.pop("paging")
    return PagingSpec(**pick)


def make_auth(source: str, cfg: Mapping[str, Any], secrets: SecretSource) -> httpx.Auth | None:
    flow = cfg.get("auth") or "none"
    if flow == "none":
        return None
    if flow == "basic":
        user = need(source, cfg, secrets, "username", secret=False)
        return httpx.BasicAuth(user, need(source, cfg, secrets, "password", secret=True))
    if flow == "bearer":
        return StaticBearer(need(source, cfg, secrets, "token", secret=True))
    if flow == "client_credentials":
        if not cfg.get("token_url"):
            raise CollectorError(f"[sources.{source}] token_url is required for auth = 'client_credentials'")
        return ClientCredentials(
            str(cfg["token_url"]),
            need(source, cfg, secrets, "client_id", secret=False),
            need(source, cfg, secrets, "client_secret", secret=True),
            scope=str(cfg.get("scope") or ""),
        )
    raise CollectorError(f"[sources.{source}] auth = {flow!r}: expected one of {', '.join(AUTHS)}")


def flatten(record: Mapping[str, Any], columns: list[str]) -> dict[str, Any]:
    """The record with each declared column that is a dotted path ('Custom.FlowId') lifted to the top level,
    so a nested field lands in the raw column of that name, as a CSV export with that header would put it."""
    out = dict(record)
    for col in columns:
        if "." in col and col not in out:
            out[col] = dig(record, col)
    return out


class GenericREST:
    """The Collector over a REST API described by config: one listing endpoint per stream."""

    def __init__(
        self,
        source: str,
        cfg: Mapping[str, Any],
        secrets: SecretSource,
        streams: list[Stream],
        endpoint: Callable[[Stream], str],
        *,
        defaults: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        if not cfg.get("base_url"):
            raise CollectorError(f"[sources.{source}] base_url is required for transport = 'api'")
        self.source, self.cfg, self._streams, self._endpoint = source, cfg, streams, endpoint
        self.base_url = str(cfg["base_url"]).rstrip("/")
        self.spec = paging_spec(cfg, defaults)
        self.http = HttpClient(
            auth=make_auth(source, cfg, secrets),
            timeout=DEFAULT_TIMEOUT,
            policy=policy or policy_for(cfg),
            transport=transport,
            vendor=source,
        )

    def streams(self) -> list[Stream]:
        return self._streams

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        path = self._endpoint(stream)
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"
        columns, row = stream.column_names(), 1
        try:
            for page in configured_pages(self.http, url, self.spec):
                records = [flatten(r, columns) for r in page.records]
                yield Batch(records=records, source_file=f"api {path}", first_row=row)
                row += len(records)
        except HttpError as exc:
            if exc.status != 404 or row > 1:
                raise
            # a listing the system does not have is an absent stream (as a missing table is), not a failed source
            raise StreamAbsent(f"{path} answers HTTP 404: {exc}") from None


# --- the `rest_generic` source kind: any undocumented REST API, streams and columns from config alone --------
from collectors._source import files_collector as _files  # noqa: E402  (kept beside the kind it declares)
from collectors.base import Column  # noqa: E402
from collectors.files import FilesCollector  # noqa: E402

SYSTEM = (
    "FILES"  # the role the firm's own mapping SQL gives it; mapped after the vendor sources, as `files` is
)
SETTINGS: list[Setting] = [
    Setting(
        "streams",
        dict,
        {},
        "Stream name → listing endpoint (relative to base_url), e.g. {invoices = '/v2/invoices'}.",
    ),
    Setting(
        "columns",
        dict,
        {},
        "Stream name → the fields kept, each a name or a dotted path into the record ('customer.id');"
        " read as text (the mapping SQL casts).",
    ),
    Setting("primary_keys", dict, {}, "Stream name → its key field (optional)."),
    Setting("mapping", str, "", "SQL file mapping raw.<source>__<stream> into canon (optional)."),
    *rest_settings({}),
]


def check_settings(cfg: Mapping[str, Any], prefix: str) -> None:
    """Every stream needs its columns; columns and keys name declared streams only."""
    endpoints, columns = cfg.get("streams") or {}, cfg.get("columns") or {}
    for name in endpoints:
        fields = columns.get(name)
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
            raise ValueError(f"key '{prefix}.columns.{name}' must list the fields stream {name!r} keeps")
    for setting in ("columns", "primary_keys"):
        for name in cfg.get(setting) or {}:
            if name not in endpoints:
                raise ValueError(f"key '{prefix}.{setting}.{name}': no stream {name!r} in {prefix}.streams")


def streams(cfg: Mapping[str, Any]) -> list[Stream]:
    keys = cfg.get("primary_keys") or {}
    out = []
    for name, endpoint in sorted((cfg.get("streams") or {}).items()):
        fields = list(dict.fromkeys((cfg.get("columns") or {}).get(name) or []))
        key = keys.get(name)
        out.append(
            Stream(
                name,
                tuple(Column(f, required=f == key) for f in fields),
                primary_key=(key,) if key else (),
                file_pattern=f"{name}.*",
                description=f"GET {endpoint}",
            )
        )
    return out


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> GenericREST:
    endpoints = cfg.get("streams") or {}
    return GenericREST("rest_generic", cfg, secrets, streams(cfg), lambda s: str(endpoints[s.name]))


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """The same streams from exported files, <stream>.csv / .jsonl / .parquet under `path`."""
    return _files("rest_generic", cfg, streams(cfg))


def MAPPING(cfg: Mapping[str, Any]) -> str:
    return cfg.get("mapping") or ""
