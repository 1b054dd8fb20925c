"""SAP S/4HANA discover: a sample of each entity set ($top) against the fields mapping.sql reads.

A tenant's extension fields (YY1_*) carry the names its key users gave them and its custom CDS views may live
in other services; discover profiles what each entity set returns and proposes `fields` renames and value maps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors._valuemaps import domain
from collectors.discover import SAMPLE_ROWS, Report, TableProfile, Wanted, kind_of_type, profile_rows
from collectors.http import HttpError
from collectors.http.odata_v2 import v2_page
from collectors.sap_s4.api import SapS4API
from collectors.sap_s4.streams import CORRELATION, ENTITY_SETS, entity_set, field_names, streams

MAPPING = Path(__file__).with_name("mapping.sql")
# Canonical enumerated column -> (stream, default field) as mapping.sql reads it. invoice.type and invoice.status
# are SAP codes the mapping decodes itself (collectors/sap_s4/codes.py), not words a firm chooses.
VALUE_COLUMNS = {
    "project.status": ("project", "ProcessingStatus"),
    "project.billing_type": ("project", "YY1_BillingType"),
    "time_entry.approval_status": ("timesheet", "TimeSheetStatus"),
    "expense.approval_status": ("expense", "ApprovalStatus"),
    "invoice_line.line_type": ("billing_document_item", "YY1_LineType"),
    "billing_schedule.line_type": ("billing_plan_item", "YY1_LineType"),
    "billing_rule.rule_type": ("sales_order_item", "YY1_BillingRuleType"),
    "revenue_schedule.method": ("revenue_posting", "RecognitionMethod"),
    "subcontract.status": ("purchase_order", "YY1_AgreementStatus"),
    "milestone.status": ("milestone", "MilestoneStatus"),
    "milestone.billing_trigger": ("milestone", "BillingTrigger"),
    "collection_action.action_type": ("collection_action", "ActionType"),
}


def _used() -> dict[str, list[str]]:
    """Stream -> the default fields its statement in mapping.sql reads."""
    out: dict[str, list[str]] = {}
    for stmt in MAPPING.read_text(encoding="utf-8").split(";"):
        stream = re.search(r"raw\.\$\{source\}__(\w+)", stmt)
        if stream:
            fields = out.setdefault(stream.group(1), [])
            fields += [
                f for f in dict.fromkeys(re.findall(r"\$\{(\w+)\}", stmt)) if f not in (*fields, "source")
            ]
    return out


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    n, used = field_names(cfg), _used()
    enumerated = {(stream, f): domain(canon) for canon, (stream, f) in VALUE_COLUMNS.items()}
    out: dict[str, list[Wanted]] = {}
    for stream, e in ENTITY_SETS.items():
        out[stream] = [
            Wanted(
                stream,
                n[f],
                f,
                ("correlation_field",) if f == CORRELATION else ("fields", f),
                kind_of_type(e.fields[f]),
                enumerated.get((stream, f), ()),
            )
            for f in used.get(stream, [])
            if f in e.fields
        ]
    return out


def known(cfg: Mapping[str, Any]) -> set[str]:
    """Every field the module gives a meaning (defaults and the names in force)."""
    return {f for e in ENTITY_SETS.values() for f in e.fields} | set(field_names(cfg).values())


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, None]]:
    n = field_names(cfg)
    return {canon: (stream, n[f], None) for canon, (stream, f) in VALUE_COLUMNS.items()}


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """$top=SAMPLE_ROWS of every entity set, no $select: the fields the tenant really returns."""
    api = SapS4API(cfg, secrets, streams(cfg))
    for stream in api.streams():
        service, name = entity_set(cfg, stream.name)
        types = {c.name: c.type for c in stream.columns}
        try:
            page = api.http.request_json(
                "GET",
                api.url(stream),
                params={"$format": "json", "$top": SAMPLE_ROWS},
                parse=lambda doc, t=types: v2_page(doc, t),
            )
        except HttpError as exc:
            if exc.status != 404:
                raise
            report.profiles[stream.name] = TableProfile(
                stream.name,
                f"{service}/{name}",
                present=False,
                note=f"{service}/{name} is not exposed ({exc})",
            )
            continue
        report.profiles[stream.name] = profile_rows(stream.name, f"{service}/{name}", page.records)
