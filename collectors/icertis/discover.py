"""Icertis discover: a page of each contract type's records through the configured REST API; attributes matched
against the logical fields by name, kind and values (the tenant's names are its own configuration)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from collectors._valuemaps import domain
from collectors.discover import SAMPLE_ROWS, Report, TableProfile, Wanted, kind_of_type, profile_rows
from collectors.http import HttpError
from collectors.http.generic import configured_pages
from collectors.icertis import api_collector
from collectors.icertis.streams import FIELDS, STREAM_FIELDS, contract_types, field_names

# Canonical enumerated column -> (stream, logical field) as mapping.sql reads it
VALUE_COLUMNS = {
    "contract.status": ("msa", "status"),
    "sow.status": ("sow", "status"),
    "sow.billing_type": ("sow", "billing_type"),
    "sow.over_time_criteria": ("sow", "over_time_criteria"),
    "amendment.status": ("amendment", "status"),
    "amendment.change_type": ("amendment", "change_type"),
    "rate_card.scope": ("rate_card", "scope"),
    "milestone.status": ("milestone", "status"),
    "milestone.billing_trigger": ("milestone", "billing_trigger"),
}


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    names = field_names(cfg)
    enumerated = {(s, f): domain(canon) for canon, (s, f) in VALUE_COLUMNS.items()}
    return {
        stream: [
            Wanted(
                stream,
                names[f],
                FIELDS[f][0],
                ("fields", f),
                kind_of_type(FIELDS[f][1]),
                enumerated.get((stream, f), ()),
            )
            for f in dict.fromkeys(logicals)
        ]
        for stream, logicals in STREAM_FIELDS.items()
    }


def known(cfg: Mapping[str, Any]) -> set[str]:
    return {v[0] for v in FIELDS.values()} | set(field_names(cfg).values())


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, None]]:
    names = field_names(cfg)
    return {canon: (stream, names[f], None) for canon, (stream, f) in VALUE_COLUMNS.items()}


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """A sample of each contract type; a type the tenant does not have (HTTP 404) is absent."""
    api = api_collector(cfg, secrets)
    types = contract_types(cfg)
    for stream in api.streams():
        url = f"{api.base_url}/{api._endpoint(stream).lstrip('/')}"
        try:
            pages = configured_pages(api.http, url, api.spec)
            rows = list(itertools.islice((r for p in pages for r in p.records), SAMPLE_ROWS))
        except HttpError as exc:
            if getattr(exc, "status", None) != 404:
                raise
            report.profiles[stream.name] = TableProfile(
                stream.name,
                types[stream.name],
                present=False,
                note=f"contract type {types[stream.name]!r}: HTTP 404",
            )
            continue
        report.profiles[stream.name] = profile_rows(stream.name, types[stream.name], rows)
