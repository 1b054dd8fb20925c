"""Ironclad discover: /records/metadata for record types and property keys, a page of records per type for values."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors._valuemaps import domain
from collectors.discover import (
    SAMPLE_ROWS,
    Report,
    TableProfile,
    Wanted,
    name_similarity,
    name_words,
    profile_rows,
    reference_kind,
)
from collectors.http import page_number_pages
from collectors.ironclad.api import IroncladAPI, parse_list_page, record_type_of
from collectors.ironclad.keys import BUSINESS_KEY, KEYED, LINKS, RECORD_ID
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
    enumerated = {(stream, p): domain(canon) for canon, (stream, p) in VALUE_COLUMNS.items()}
    out: dict[str, list[Wanted]] = {}
    for stream in RECORD_TYPES:
        out[stream] = [
            Wanted(
                stream,
                keys[p],
                PROPERTIES[p][0],
                (_OWN_SETTING[p],) if p in _OWN_SETTING else ("properties", p),
                KINDS.get(PROPERTIES[p][1], "text"),
                enumerated.get((stream, p), ()),
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
    samples: dict[str, list[dict[str, Any]]] = {}
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
        raw = list(itertools.islice((r for p in pages for r in p.records), SAMPLE_ROWS))
        samples[stream.name] = raw
        prof = profile_rows(stream.name, rtype, (flatten(r) for r in raw))
        for name, col in prof.columns.items():
            col.vendor_type = ptypes.get(name, "")
            if col.non_null and col.vendor_type in KINDS:
                col.kind = KINDS[col.vendor_type]
        report.profiles[stream.name] = prof
    _propose_keys(report, cfg, samples)


def _propose_keys(
    report: Report, cfg: Mapping[str, Any], samples: Mapping[str, list[dict[str, Any]]]
) -> None:
    """keys and links (collectors/ironclad/keys.py) where the tenant's record ids are not its business keys.

    A record type's business key is a property no setting claims whose values are one per record and never a
    record id (sowNumber beside an opaque id). Where one exists, each reference to that type is read against
    both: matching the parents' record ids proposes links.<ref> = 'record_id'; matching the property's values
    is the default (business_key) and the evidence for the key. Where record ids are the business numbers
    (no such property), nothing is proposed: the defaults read that tenant.
    """
    claimed = known(cfg) | {value for value, _ in report.settings.values()}  # proposals are claimed too
    refs = property_keys(cfg)
    for parent in KEYED:
        records = samples.get(parent) or []
        ids = {str(r.get("id")) for r in records if r.get("id") is not None}
        key = _business_key(records, ids, claimed)
        if key is None:
            continue
        values = {str(flatten(r).get(key)) for r in records}
        evidence = [f"{parent}: {key!r} has one value per record, none of them a record id"]
        for link, target in LINKS.items():
            child, logical = link.split(".")
            if target != parent or not samples.get(child):
                continue
            seen = [str(v) for v in (flatten(r).get(refs[logical]) for r in samples[child]) if v is not None]
            kind, share = reference_kind(seen, {RECORD_ID: ids, BUSINESS_KEY: values})
            if kind == RECORD_ID:
                report.propose(
                    ("links", link),
                    RECORD_ID,
                    f"{child}.{refs[logical]}: {share[RECORD_ID]:.0%} of sampled values are {parent} record ids,"
                    f" {share[BUSINESS_KEY]:.0%} are its {key}",
                    a_name=False,
                )
                evidence.append(f"{child} points at it by record id")
            elif kind == BUSINESS_KEY:
                evidence.append(
                    f"{share[BUSINESS_KEY]:.0%} of {child}.{refs[logical]} values are {key} values"
                )
        report.propose(("keys", parent), key, "; ".join(evidence))


# words of a property name that say it is an identifier (sowNumber, contractNo, amendmentId, msaRef, dealKey)
_ID_WORDS = {"number", "num", "no", "id", "ref", "reference", "key", "code"}


def _business_key(records: list[dict[str, Any]], ids: set[str], claimed: set[str]) -> str | None:
    """The one unclaimed text property named like an identifier that every sampled record holds, with a
    distinct value each and never a record id (a picklist of a few records can be distinct by chance)."""
    if len(records) < 2:
        return None
    rows = [flatten(r) for r in records]
    found = []
    names = {k for row in rows for k in row} - claimed
    for name in (k for k in names if _ID_WORDS & set(name_words(k))):
        values = [row.get(name) for row in rows]
        if any(not isinstance(v, str) or not v for v in values):
            continue
        if len(set(values)) == len(values) and not set(values) & ids:
            found.append(name)
    return found[0] if len(found) == 1 else None


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
