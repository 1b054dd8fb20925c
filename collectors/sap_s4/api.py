"""SAP S/4HANA Cloud OData v2 transport: one GET per entity set, `__next` followed to the end (collectors/http/odata_v2).

Each request asks $format=json, $inlinecount=allpages (the count the read must reach), $select of the declared
fields and, for entities with a change stamp and a stored cursor, $filter=LastChangeDateTime gt datetimeoffset'..'.
A field the tenant lacks is refused by the service (400, "Property 'X' not found"): it is dropped from $select and
the request repeated, so the column lands as NULL and the run says which fields were missing. An entity set or
service the tenant does not expose (404) is an absent stream, never a failed source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from closedloop.settings import Setting
from collectors.auth import Basic, ClientCredentialsBasic, SecretSource, need
from collectors.base import Batch, CollectorError, Stream, StreamAbsent, StreamState
from collectors.http import DEFAULT_TIMEOUT, HttpClient, HttpError, RetryPolicy, policy_for
from collectors.http.cursor import CursorTracker, iso_seconds
from collectors.http.odata_v2 import v2_pages
from collectors.sap_s4.streams import ENTITY_SETS, entity_set, field_names, streams

BASE_URL = "https://my000000-api.s4hana.cloud.sap"
SERVICE_ROOT = "/sap/opu/odata/sap"
AUTHS = ("basic", "client_credentials")
API_SETTINGS: list[Setting] = [
    Setting(
        "auth",
        str,
        "basic",
        "Communication user over HTTP Basic ('basic') or OAuth 2.0 client credentials ('client_credentials').",
        choices=AUTHS,
    ),
    Setting("base_url", str, BASE_URL, "API host of the tenant (communication arrangement), without a path."),
    Setting("service_root", str, SERVICE_ROOT, "Path of the OData v2 services under base_url."),
    Setting("sap_client", str, "", "sap-client query parameter (on-premise / private cloud; empty: none)."),
    Setting("user", str, "", "Communication user (auth = 'basic')."),
    Setting("password", str, None, "Communication user's password (auth = 'basic').", secret=True),
    Setting("token_url", str, "", "OAuth token endpoint (auth = 'client_credentials')."),
    Setting("client_id", str, "", "OAuth client id (auth = 'client_credentials')."),
    Setting("client_secret", str, None, "OAuth client secret (auth = 'client_credentials').", secret=True),
]
# SAP Gateway's words for a $select property the entity type does not have
_UNKNOWN_PROPERTY = re.compile(r"[Pp]roperty '?([A-Za-z_][\w]*)'? (?:not found|is invalid|does not exist)")


def make_auth(cfg: Mapping[str, Any], secrets: SecretSource) -> httpx.Auth:
    flow = cfg.get("auth") or "basic"
    if flow == "basic":
        return Basic(
            need("sap_s4", cfg, secrets, "user", secret=False),
            need("sap_s4", cfg, secrets, "password", secret=True),
        )
    if flow == "client_credentials":
        return ClientCredentialsBasic(
            need("sap_s4", cfg, secrets, "token_url", secret=False),
            need("sap_s4", cfg, secrets, "client_id", secret=False),
            need("sap_s4", cfg, secrets, "client_secret", secret=True),
        )
    raise CollectorError(f"[sources.sap_s4] auth = {flow!r}: expected one of {', '.join(AUTHS)}")


def unknown_property(exc: HttpError) -> str | None:
    """The field a 400 says the entity type lacks, if that is what it says."""
    if exc.status != 400:
        return None
    m = _UNKNOWN_PROPERTY.search(str(exc))
    return m.group(1) if m else None


class SapS4API:
    """The Collector over S/4HANA's OData v2 services: entity sets as the services return them."""

    source = "sap_s4"

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
        root = str(cfg.get("service_root") or SERVICE_ROOT).strip("/")
        self.root = f"{str(cfg.get('base_url') or BASE_URL).rstrip('/')}/{root}"
        self.http = HttpClient(
            auth=auth or make_auth(cfg, secrets),
            headers={"Accept": "application/json"},
            timeout=DEFAULT_TIMEOUT,
            policy=policy or policy_for(cfg),
            transport=transport,
            vendor="sap_s4",
        )

    def streams(self) -> list[Stream]:
        return self._streams

    def url(self, stream: Stream) -> str:
        service, name = entity_set(self.cfg, stream.name)
        return f"{self.root}/{service}/{name}"

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        types = {c.name: c.type for c in stream.columns}
        selected = list(types)
        missing: list[str] = []
        params: dict[str, Any] = {"$format": "json", "$inlinecount": "allpages"}
        if self.cfg.get("sap_client"):
            params["sap-client"] = str(self.cfg["sap_client"])
        since = iso_seconds(state.cursor) if state.cursor and stream.cursor_field else None
        if since:
            params["$filter"] = f"{stream.cursor_field} gt datetimeoffset'{since}'"
        key = stream.primary_key[0] if stream.primary_key else None
        while True:
            try:
                yield from self._pages(
                    stream, state, params | {"$select": ",".join(selected)}, types, key, missing
                )
                return
            except HttpError as exc:
                if exc.status == 403:
                    service, _ = entity_set(self.cfg, stream.name)
                    raise StreamAbsent(
                        f"{self.url(stream).removeprefix(self.root)}: the communication user may not read it ({exc});"
                        f" grant {service.split(';')[0]} in the communication arrangement to collect it"
                    ) from None
                if exc.status == 404:
                    raise StreamAbsent(
                        f"{self.url(stream).removeprefix(self.root)} is not exposed by this tenant ({exc});"
                        f" set sources.sap_s4.entity_sets.{stream.name} if it lives in another service"
                    ) from None
                gone = unknown_property(exc)
                if not gone or gone not in selected or gone == key:
                    raise
                selected.remove(gone)  # the tenant lacks the field: NULL, and said so in missing_fields
                missing.append(gone)

    def _pages(self, stream, state, params, types, key, missing) -> Iterator[Batch]:
        cursor = CursorTracker(stream.cursor_field)
        row = 1
        label = f"api {self.url(stream).removeprefix(self.root + '/')}"
        for page in v2_pages(self.http, self.url(stream), types=types, params=params, key=key):
            yield Batch(records=page.records, source_file=label, first_row=row, missing_fields=tuple(missing))
            row += len(page.records)
            cursor.see(page.records)
        if cursor.value:
            state.cursor = cursor.value


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> SapS4API:
    """The HTTP transport over the declared streams (collectors/sap_s4/streams.py)."""
    return SapS4API(cfg, secrets, streams(cfg))


__all__ = ["API_SETTINGS", "ENTITY_SETS", "SapS4API", "api_collector", "field_names", "make_auth"]
