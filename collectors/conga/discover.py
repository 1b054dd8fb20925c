"""Conga discover: the org's describe of the Apttus objects (fields, picklists, lookups) and a SOQL sample,
through the Salesforce REST transport; what each field setting should name where the package version or the
firm's admin named it otherwise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors.conga.streams import AGREEMENT_FIELDS, LINE_FIELDS, categories, line_types, names, streams
from collectors.discover import Report, TableProfile, Wanted, kind_of_type
from collectors.salesforce.api import SalesforceAPI, sobject_of
from collectors.salesforce.discover import _profile

# Canonical enumerated column -> (stream, logical field, category or line type of the rows it reads)
VALUE_COLUMNS = {
    "contract.status": ("agreement", "status_field", ("category_field", "msa")),
    "sow.status": ("agreement", "status_field", ("category_field", "sow")),
    "amendment.status": ("agreement", "status_field", ("category_field", "amendment")),
    "sow.billing_type": ("agreement", "billing_type_field", ("category_field", "sow")),
    "sow.over_time_criteria": ("agreement", "over_time_field", ("category_field", "sow")),
    "amendment.change_type": ("agreement", "change_type_field", ("category_field", "amendment")),
    "rate_card.scope": ("line_item", "line_scope_field", ("line_type_field", "rate_card")),
    "milestone.status": ("line_item", "line_status_field", ("line_type_field", "milestone")),
    "milestone.billing_trigger": ("line_item", "line_trigger_field", ("line_type_field", "milestone")),
}


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    """Per stream, each declared field with the setting that names it (Id, Name and system fields: none)."""
    n = names(cfg)
    key_of = {n[k]: k for k in (*AGREEMENT_FIELDS, *LINE_FIELDS)}
    defaults = {k: v[0] for k, v in (AGREEMENT_FIELDS | LINE_FIELDS).items()}
    out: dict[str, list[Wanted]] = {}
    for s in streams(cfg):
        out[s.name] = [
            Wanted(
                s.name,
                c.name,
                defaults[key_of[c.name]] if c.name in key_of else c.name,
                (key_of[c.name],) if c.name in key_of else None,
                kind_of_type(c.type),
            )
            for c in s.columns
        ]
    return out


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, dict[str, list[str]]]]:
    """Where each enumerated column is read, with the rows it is read from (agreements of one category)."""
    n, kinds = names(cfg), {**categories(cfg), **line_types(cfg)}
    return {
        canon: (stream, n[field], {n[by]: [kinds[kind]]})
        for canon, (stream, field, (by, kind)) in VALUE_COLUMNS.items()
    }


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """Profile each Apttus object through the org's REST API (describe, then a sample); absent when not installed."""
    ss = streams(cfg)
    api = SalesforceAPI(cfg, secrets, ss, source="conga")
    base = f"{api.instance_url()}/services/data/{api.api_version}"
    listing = api.http.request_json("GET", f"{base}/sobjects")
    objects = {o.get("name") for o in (listing or {}).get("sobjects", []) if isinstance(o, dict)}
    for stream in ss:
        sobject = sobject_of(stream, cfg)
        if sobject not in objects:
            note = (
                f"no sObject {sobject!r} in /sobjects (is the Conga CLM package installed, under this name?)"
            )
            report.profiles[stream.name] = TableProfile(stream.name, sobject, present=False, note=note)
            continue
        report.profiles[stream.name] = _profile(api, base, stream.name, sobject)
