"""Salesforce discover: /sobjects and /sobjects/{Object}/describe for fields and picklists, a SOQL sample for values."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from collectors.base import Stream
from collectors.discover import (
    SAMPLE_ROWS,
    ColumnProfile,
    Report,
    TableProfile,
    Wanted,
    kind_of_type,
    name_similarity,
    profile_rows,
)
from collectors.http import HttpError, next_link_pages
from collectors.salesforce.api import SalesforceAPI, parse_query_page, sobject_of
from collectors.salesforce.streams import NAMES, names, streams

# Canonical enumerated column -> (stream, logical name or fixed field): what mapping.sql reads into it.
VALUE_COLUMNS = {
    "crm_invoice_status.status": ("invoice_status", "inv_status_field"),
    "opportunity.deal_type": ("opportunity", "Type"),
}
# describe field types -> the value kind discover compares with what a column wants
_KINDS = {
    "boolean": "bool",
    "double": "number",
    "currency": "number",
    "percent": "number",
    "int": "number",
    "date": "date",
    "datetime": "datetime",
}


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    """Per stream, each declared field with the setting that names it (fixed standard fields: none)."""
    n = names(cfg)
    by_name: dict[str, str] = {}
    for key, value in n.items():
        by_name.setdefault(value, key)
    out: dict[str, list[Wanted]] = {}
    for s in streams(cfg):
        ws = []
        for c in s.columns:
            if c.type == "JSON":  # relationship objects (Account, Opportunity__r) are not fields
                continue
            key = by_name.get(c.name)
            ws.append(
                Wanted(
                    s.name,
                    c.name,
                    NAMES[key] if key else c.name,
                    (key,) if key else None,
                    kind_of_type(c.type),
                )
            )
        out[s.name] = ws
    return out


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, None]]:
    n = names(cfg)
    return {canon: (stream, n.get(col, col), None) for canon, (stream, col) in VALUE_COLUMNS.items()}


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """Profile each stream's object through the REST API; an object the org lacks may be proposed by name."""
    ss = streams(cfg)
    api = SalesforceAPI(cfg, secrets, ss)
    base = f"{api.instance_url()}/services/data/{api.api_version}"
    listing = api.http.request_json("GET", f"{base}/sobjects")
    objects = {o.get("name"): o for o in (listing or {}).get("sobjects", []) if isinstance(o, dict)}
    for stream in ss:
        sobject = sobject_of(stream, cfg)
        if sobject not in objects:
            proposal = _propose_object(sobject, objects, stream) if stream.name == "invoice_status" else None
            if proposal is None:
                report.profiles[stream.name] = TableProfile(
                    stream.name, sobject, present=False, note=f"no sObject {sobject!r} in /sobjects"
                )
                continue
            sobject, evidence = proposal
            report.propose(("invoice_status_object",), sobject, evidence)
        report.profiles[stream.name] = _profile(api, base, stream.name, sobject)
        _propose_lookups(report, cfg, stream.name)


# Lookup settings by stream: the object each one's field points at (describe's referenceTo says which field does).
LOOKUPS = {"invoice_status": {"inv_opportunity_field": "Opportunity", "inv_account_field": "Account"}}


def _propose_lookups(report: Report, cfg: Mapping[str, Any], stream: str) -> None:
    """A lookup the org names its own way is the one custom field pointing at the right object: stronger
    evidence than any name (Deal__c -> Opportunity is the invoice's opportunity, whatever it is called)."""
    prof, n = report.profiles[stream], names(cfg)
    for key, target in LOOKUPS.get(stream, {}).items():
        if n[key] in prof.columns:
            continue
        refs = [c.name for c in prof.columns.values() if c.references == (target,) and c.name.endswith("__c")]
        if len(refs) == 1:
            report.propose(
                (key,), refs[0], f"{stream}: the only custom lookup to {target} (describe referenceTo)"
            )


def _propose_object(sobject: str, objects: Mapping[str, Any], stream: Stream) -> tuple[str, str] | None:
    """The custom object whose name is closest to the configured one (the firm's invoice-status object)."""
    scored = sorted(
        ((name_similarity(sobject, name), name) for name, o in objects.items() if o.get("custom")),
        reverse=True,
    )
    if not scored or scored[0][0] < 0.5:
        return None
    score, name = scored[0]
    return name, f"custom object name ~{score:.2f} to {sobject!r} (stream {stream.name})"


def _profile(api: SalesforceAPI, base: str, stream: str, sobject: str) -> TableProfile:
    try:
        doc = api.http.request_json("GET", f"{base}/sobjects/{sobject}/describe")
    except HttpError as exc:
        if exc.status in (403, 404):
            return TableProfile(stream, sobject, present=False, note=f"describe {sobject}: {exc}")
        raise
    fields = [f for f in (doc or {}).get("fields", []) if isinstance(f, dict) and f.get("name")]
    soql = f"SELECT {', '.join(f['name'] for f in fields)} FROM {sobject}"
    pages = next_link_pages(
        api.http, f"{base}/query", params={"q": soql}, parse=parse_query_page, sensitive=(soql,)
    )
    records = itertools.islice((r for p in pages for r in p.records), SAMPLE_ROWS)
    prof = profile_rows(stream, sobject, ({k: v for k, v in r.items() if k != "attributes"} for r in records))
    for f in fields:
        col = prof.columns.setdefault(f["name"], ColumnProfile(f["name"]))
        col.vendor_type, col.label = str(f.get("type") or ""), str(f.get("label") or "")
        col.references = tuple(str(r) for r in f.get("referenceTo") or ())
        if col.kind == "empty":
            col.kind = _KINDS.get(col.vendor_type, "text")
        picklist = [p["value"] for p in f.get("picklistValues") or [] if p.get("active", True)]
        if picklist:  # the org's declared values, not only the sampled ones
            col.distinct, col.many = picklist, False
    return prof
