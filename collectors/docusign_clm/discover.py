"""DocuSign Navigator discover: a sample of the agreements listing, split by `type` into the canonical entities;
each entity's custom provisions profiled as columns and matched against the logical fields the mapping reads."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors._valuemaps import domain
from collectors.discover import Report, TableProfile, Wanted, profile_rows
from collectors.docusign_clm.api import NavigatorAPI, parse_agreements_page
from collectors.docusign_clm.streams import (
    AGREEMENT_TYPES,
    CUSTOM_PROVISIONS,
    agreement_types,
    custom_keys,
    streams,
)
from collectors.http import next_link_pages

MAPPING = Path(__file__).with_name("mapping.sql")
SAMPLE = 2000  # agreements read to find every type the account uses (one listing holds them all)
VALUE_COLUMNS = {
    "contract.status": ("msa", "status"),
    "sow.status": ("sow", "status"),
    "sow.billing_type": ("sow", "billing_type"),
    "sow.over_time_criteria": ("sow", "over_time_criteria"),
    "amendment.status": ("amendment", "status"),
    "amendment.change_type": ("amendment", "change_type"),
    "rate_card.scope": ("rate_card", "scope"),
}
KINDS = {"payment_terms_days": "number", "amendment_no": "number", "rate_lines": "json", "milestones": "json"}
KINDS |= dict.fromkeys(
    ("cap_amount", "expense_cap", "value_delta", "new_cap_amount", "expense_markup_pct"), "number"
)
KINDS |= dict.fromkeys(
    ("po_required", "expense_rebillable", "work_at_risk_approved", "multi_currency_billing"), "bool"
)
KINDS["new_end_date"] = "date"


def _used() -> dict[str, list[str]]:
    """Entity -> the custom provisions its INSERT in mapping.sql reads (${c_x} on the document itself)."""
    out: dict[str, list[str]] = {}
    for stmt in MAPPING.read_text(encoding="utf-8").split(";"):
        t = re.search(r"r\.type = '\$\{t_(\w+)\}'", stmt)
        if t:
            names = out.setdefault(t.group(1), [])
            names += [c for c in dict.fromkeys(re.findall(r"\$\{c_(\w+)\}", stmt)) if c not in names]
    return out


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    keys, used = custom_keys(cfg), _used()
    enumerated = {(s, f): domain(canon) for canon, (s, f) in VALUE_COLUMNS.items()}
    return {
        entity: [
            Wanted(
                entity,
                keys[f],
                CUSTOM_PROVISIONS[f],
                ("correlation_provision",) if f == "correlation_id" else ("custom_provisions", f),
                KINDS.get(f, "text"),
                enumerated.get((entity, f), ()),
            )
            for f in used.get(entity, [])
        ]
        for entity in AGREEMENT_TYPES
    }


def known(cfg: Mapping[str, Any]) -> set[str]:
    return set(CUSTOM_PROVISIONS.values()) | set(custom_keys(cfg).values())


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, None]]:
    keys = custom_keys(cfg)
    return {canon: (entity, keys[f], None) for canon, (entity, f) in VALUE_COLUMNS.items()}


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """An agreement's custom provisions as columns (the standard provisions are Navigator's fixed names)."""
    custom = record.get("custom_provisions")
    return dict(custom) if isinstance(custom, Mapping) else {}


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """Sample the listing over the API, then profile it per entity (see profile_sample)."""
    api = NavigatorAPI(cfg, secrets, streams(cfg))
    url = f"{api.base_url}/v1/accounts/{api.account_id}/agreements"
    pages = next_link_pages(api.http, url, params={"limit": api.page_size}, parse=parse_agreements_page)
    profile_sample(report, cfg, list(itertools.islice((r for p in pages for r in p.records), SAMPLE)))


def profile_files(report: Report, cfg: Mapping[str, Any]) -> None:
    """transport = 'files': the same sample from the exported listing (agreements.jsonl)."""
    path = Path(str(cfg.get("path") or ".")) / (streams(cfg)[0].file_pattern or "")
    if not path.is_file():
        for entity, name in agreement_types(cfg).items():
            report.profiles[entity] = TableProfile(entity, name, present=False, note=f"no file {path}")
        return
    with path.open(encoding="utf-8") as fh:
        lines = itertools.islice((ln for ln in fh if ln.strip()), SAMPLE)
        profile_sample(report, cfg, [json.loads(ln) for ln in lines])


def profile_sample(report: Report, cfg: Mapping[str, Any], sample: list[Mapping[str, Any]]) -> None:
    """Each configured type is profiled by its custom provisions; a type the account does not use is proposed
    from the types it does use when exactly one carries the entity's business number provision."""
    seen = Counter(str(r.get("type")) for r in sample)
    types, keys = agreement_types(cfg), custom_keys(cfg)
    number = {"msa": "contract_id", "sow": "sow_id", "amendment": "amendment_id", "rate_card": "rate_card_id"}
    for entity, name in types.items():
        if name not in seen:
            carriers = Counter(
                str(r.get("type"))
                for r in sample
                if keys[number[entity]] in (r.get("custom_provisions") or {})
            )
            if len(carriers) == 1:
                name = next(iter(carriers))
                report.propose(
                    ("agreement_types", entity),
                    name,
                    f"the only type whose agreements carry {keys[number[entity]]!r}",
                )
            else:
                report.profiles[entity] = TableProfile(
                    entity,
                    name,
                    present=False,
                    note=f"no agreement of type {name!r} (types seen: {', '.join(sorted(seen))})",
                )
                continue
        rows = [flatten(r) for r in sample if r.get("type") == name]
        report.profiles[entity] = profile_rows(entity, name, rows)
