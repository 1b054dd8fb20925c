"""Ironclad discover: /records/metadata for record types and property keys, a page of records per type for values."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors.discover import SAMPLE_ROWS, Report, TableProfile, Wanted, name_similarity, profile_rows
from collectors.http import page_number_pages
from collectors.ironclad.api import IroncladAPI, parse_list_page, record_type_of
from collectors.ironclad.streams import PROPERTIES, RECORD_TYPES, property_keys, streams

MAPPING = Path(__file__).with_name("mapping.sql")
# Ironclad property types -> the value kind discover compares (money is an {amount, currency} object)
KINDS = {"string": "text", "date": "date", "number": "number", "boolean": "bool", "monetaryAmount": "json"}
# Canonical enumerated column -> (stream, logical property) as mapping.sql reads it
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
_OWN_SETTING = {"correlation_id": "correlation_property", "opportunity_id": "opportunity_property"}


def _used() -> dict[str, list[str]]:
    """Stream -> the logical properties its INSERT in mapping.sql reads (so a report asks only for those)."""
    out: dict[str, list[str]] = {}
    for stmt in MAPPING.read_text(encoding="utf-8").split(";"):
        stream = re.search(r"raw\.\$\{source\}__(\w+)", stmt)
        if stream:
            props = out.setdefault(stream.group(1), [])
            props += [p for p in dict.fromkeys(re.findall(r"\$\{p_(\w+)\}", stmt)) if p not in props]
    return out


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    keys, used = property_keys(cfg), _used()
    out: dict[str, list[Wanted]] = {}
    for stream in RECORD_TYPES:
        out[stream] = [
            Wanted(
                stream,
                keys[p],
                PROPERTIES[p][0],
                (_OWN_SETTING[p],) if p in _OWN_SETTING else ("properties", p),
                KINDS.get(PROPERTIES[p][1], "text"),
            )
            for p in used.get(stream, [])
        ]
    return out


def known(cfg: Mapping[str, Any]) -> set[str]:
    """Every property key the module gives a meaning, in any record type (defaults and names in force)."""
    return {v[0] for v in PROPERTIES.values()} | set(property_keys(cfg).values())


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, None]]:
    keys = property_keys(cfg)
    return {canon: (stream, keys[p], None) for canon, (stream, p) in VALUE_COLUMNS.items()}


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's properties as columns: {key: value} from {key: {type, value}}."""
    props = record.get("properties")
    if not isinstance(props, Mapping):
        return {}
    return {k: (v.get("value") if isinstance(v, Mapping) else v) for k, v in props.items()}


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """Metadata first (record types, property types), then a sample of each record type's records."""
    ss = streams(cfg)
    api = IroncladAPI(cfg, secrets, ss)
    meta = api.metadata()
    types = meta.get("recordTypes") or {}
    ptypes = {k: str((v or {}).get("type") or "") for k, v in (meta.get("properties") or {}).items()}
    for stream in ss:
        if stream.name not in RECORD_TYPES:
            continue
        rtype = record_type_of(stream, cfg)
        if types and rtype not in types:
            proposal = _propose_type(stream.name, rtype, types)
            if proposal is None:
                report.profiles[stream.name] = TableProfile(
                    stream.name,
                    rtype,
                    present=False,
                    note=f"record type {rtype!r} is not in /records/metadata",
                )
                continue
            rtype, evidence = proposal
            report.propose(("record_types", stream.name), rtype, evidence)
        pages = page_number_pages(
            api.http,
            f"{api.base_url}/records",
            page_size=api.page_size,
            params={"types": rtype},
            parse=parse_list_page,
        )
        records = itertools.islice((flatten(r) for p in pages for r in p.records), SAMPLE_ROWS)
        prof = profile_rows(stream.name, rtype, records)
        for name, col in prof.columns.items():
            col.vendor_type = ptypes.get(name, "")
            if col.non_null and col.vendor_type in KINDS:
                col.kind = KINDS[col.vendor_type]
        report.profiles[stream.name] = prof


def _propose_type(stream: str, rtype: str, types: Mapping[str, Any]) -> tuple[str, str] | None:
    """The tenant record type closest by key or display name to the configured one."""
    scored = []
    for key, info in types.items():
        display = str((info or {}).get("displayName") or "")
        best = max(name_similarity(rtype, key), name_similarity(stream, key), name_similarity(rtype, display))
        scored.append((best, key, display))
    scored.sort(reverse=True)
    if not scored or scored[0][0] < 0.6:
        return None
    score, key, display = scored[0]
    return key, f"record type ~{score:.2f} to {rtype!r} ({display or key})"
