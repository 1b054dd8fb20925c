"""Links from a case to the record pages in the source systems, built from each source's configured URL.

The host always comes from config ([sources.<key>]: Salesforce `instance_url`, else the My Domain host of its
`token_url`; NetSuite `account_id`; Ironclad `base_url`), never from warehouse data; the record's id (canon's
`source_id`) is only ever a percent-quoted path or query value. A source without such a setting gets no link,
and the panel says which setting would add one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

# Salesforce generic login hosts name no org: a link needs the org's own (My Domain) host.
GENERIC_LOGIN = ("login.salesforce.com", "test.salesforce.com")
SALESFORCE_OBJECTS = {"opportunity": "Opportunity", "client": "Account"}
NETSUITE_PAGES = {  # entity type (and invoice type) -> the record's page under the account's UI host
    "invoice": "/app/accounting/transactions/custinvc.nl",
    "credit_note": "/app/accounting/transactions/custcred.nl",
    "payment": "/app/accounting/transactions/custpymt.nl",
    "project": "/app/accounting/project/project.nl",
    "client": "/app/common/entity/custjob.nl",
    "time_entry": "/app/accounting/transactions/timebill.nl",
}
IRONCLAD_RECORDS = (
    "contract",
    "sow",
    "amendment",
    "milestone",
)  # repository records: <app host>/records/<id>
SYSTEM_NAMES = {"salesforce": "Salesforce", "netsuite": "NetSuite", "ironclad": "Ironclad"}
HINTS = {
    "salesforce": "instance_url",
    "netsuite": "account_id",
    "ironclad": "base_url",
}


@dataclass(frozen=True)
class Link:
    """One record page in a source system, or why there is none."""

    system: str  # Salesforce, NetSuite, Ironclad, or the source key
    entity_type: str
    label: str
    url: str | None
    missing: str | None = None  # the setting that would give a link


def _origin(url: Any) -> str | None:
    """scheme://host[:port] of a configured URL when it is http(s) and nothing else is odd about it."""
    if not isinstance(url, str) or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if any(ch in parts.netloc for ch in " \"'<>()\\@"):  # no credentials, quotes or markup in the host part
        return None
    return f"{parts.scheme}://{parts.netloc}"


def salesforce_host(cfg: dict[str, Any]) -> str | None:
    """The org's host: instance_url, else the token URL's host when it is the org's own (not a login host)."""
    if host := _origin(cfg.get("instance_url")):
        return host
    token = _origin(cfg.get("token_url"))
    return token if token and urlsplit(token).hostname not in GENERIC_LOGIN else None


def netsuite_host(cfg: dict[str, Any]) -> str | None:
    """https://<account>.app.netsuite.com from the account id (1234567_SB1 -> 1234567-sb1)."""
    account = str(cfg.get("account_id") or "").strip().lower().replace("_", "-")
    if not account or not all(ch.isalnum() or ch == "-" for ch in account):
        return None
    return f"https://{account}.app.netsuite.com"


def ironclad_host(cfg: dict[str, Any]) -> str | None:
    """The app's host from the API base (https://eu1.ironcladapp.com/public/api/v1 -> https://eu1.ironcladapp.com)."""
    return _origin(cfg.get("base_url"))


def record_url(
    kind: str, cfg: dict[str, Any], entity_type: str, source_id: str, record_type: str | None
) -> str | None:
    """The record's page for a source of this kind, or None when config or the record type gives none."""
    sid = quote(str(source_id), safe="")
    if not sid:
        return None
    if kind == "salesforce" and entity_type in SALESFORCE_OBJECTS and (host := salesforce_host(cfg)):
        return f"{host}/lightning/r/{SALESFORCE_OBJECTS[entity_type]}/{sid}/view"
    if kind == "netsuite" and (host := netsuite_host(cfg)):
        page = NETSUITE_PAGES.get("credit_note" if record_type == "credit_note" else entity_type)
        return f"{host}{page}?id={sid}" if page else None
    if kind == "ironclad" and entity_type in IRONCLAD_RECORDS and (host := ironclad_host(cfg)):
        return f"{host}/records/{sid}"
    return None


def links(records: list[dict[str, Any]], sources: dict[str, dict[str, Any]]) -> list[Link]:
    """A Link per source record (queries_case_detail.source_records rows), in the configured sources."""
    out = []
    for r in records:
        key = r.get("source_system")
        cfg = sources.get(key or "")
        if cfg is None or not r.get("source_id"):
            continue  # a record from a source not in this config (or with no id there): nothing to link to
        kind = str(cfg.get("kind") or key)
        system = SYSTEM_NAMES.get(kind, str(key))
        label = f"{r['entity_type'].replace('_', ' ')} {r.get('label') or r.get('entity_id')}"
        url = record_url(kind, cfg, r["entity_type"], r["source_id"], r.get("record_type"))
        missing = None
        if url is None and kind in HINTS and _linkable(kind, r["entity_type"]):
            missing = f"[sources.{key}] {HINTS[kind]}"
        if url or missing:
            out.append(Link(system, r["entity_type"], label, url, missing))
    return out


def _linkable(kind: str, entity_type: str) -> bool:
    if kind == "salesforce":
        return entity_type in SALESFORCE_OBJECTS
    if kind == "netsuite":
        return entity_type in NETSUITE_PAGES
    return entity_type in IRONCLAD_RECORDS


def configured_sources() -> dict[str, dict[str, Any]]:
    """The config's sources (read on each call: cheap, and an edited config is picked up)."""
    from closedloop import settings

    return settings.load().sources
