"""Oracle Fusion discover: a page of each resource without fields= (every attribute the pod has, flexfield
segments included), matched against the segments the mapping reads; value-map drafts for enumerated columns."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from collectors._valuemaps import domain
from collectors.base import Stream
from collectors.discover import SAMPLE_ROWS, Report, TableProfile, Wanted, kind_of_type, profile_rows
from collectors.http import HttpError, offset_pages
from collectors.oracle_fusion.api import OracleFusionAPI, parse_collection
from collectors.oracle_fusion.streams import FLEXFIELDS, SPECS, names, resource, streams

# Canonical enumerated column -> (stream, attribute or flexfield default, row filter) as mapping.sql reads it
VALUE_COLUMNS: dict[str, tuple[str, str, dict[str, tuple[str, ...]] | None]] = {
    "project.status": ("projects", "ProjectStatus", None),
    "project.billing_type": ("projects", "ProjectTypeName", None),
    "billing_rule.rule_type": ("billPlans", "BillMethodName", None),
    "billing_schedule.line_type": ("billingEvents", "EventTypeName", None),
    "milestone.status": ("milestones", "MilestoneStatus", None),
    "milestone.billing_trigger": ("milestones", "billingTrigger", None),
    "time_entry.approval_status": (
        "expenditureItems",
        "ApprovalStatus",
        {"ExpenditureTypeClass": ("Straight Time",)},
    ),
    "expense.approval_status": (
        "expenditureItems",
        "ApprovalStatus",
        {"ExpenditureTypeClass": ("Expense Reports",)},
    ),
    "invoice.status": ("receivablesInvoices", "InvoiceStatus", None),
    "invoice_line.line_type": ("receivablesInvoiceLines", "lineType", None),
    "revenue_schedule.method": ("revenueDistributions", "RevenueMethod", None),
    "collection_action.action_type": ("collectionActions", "ActionType", None),
    "subcontract.status": ("purchaseOrders", "Status", None),
}


def _flex_defaults(stream: str) -> list[tuple[str, str]]:
    """(default segment, declared type) of the flexfield segments a stream reads, correlation included."""
    out = []
    for spec in (*SPECS[stream][3], "correlation_field"):
        seg, _, typ = spec.partition(":")
        out.append((seg, typ or "VARCHAR"))
    return out


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    """Per stream, its flexfield segments: the only names a firm chooses (standard attributes are Oracle's)."""
    n = names(cfg)
    enumerated = {(s, col): domain(canon) for canon, (s, col, _) in VALUE_COLUMNS.items()}
    out: dict[str, list[Wanted]] = {}
    for stream in SPECS:
        out[stream] = [
            Wanted(
                stream,
                n[seg],
                "correlationId" if seg == "correlation_field" else seg,
                ("correlation_field",) if seg == "correlation_field" else ("flexfields", seg),
                kind_of_type(typ),
                enumerated.get((stream, seg), ()),
            )
            for seg, typ in _flex_defaults(stream)
        ]
    return out


def known(cfg: Mapping[str, Any]) -> set[str]:
    """Standard attributes every stream declares: never proposed as a flexfield segment."""
    flex = set(names(cfg).values()) | set(FLEXFIELDS)
    return {c.name for s in streams(cfg) for c in s.columns} - flex


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, Any]]:
    n = names(cfg)
    return {canon: (s, n.get(col, col), where) for canon, (s, col, where) in VALUE_COLUMNS.items()}


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """A sample page of each resource (children through their parent's expand), all attributes."""
    ss = streams(cfg)
    api = OracleFusionAPI(cfg, secrets, ss)
    for stream in ss:
        res = resource(stream.name, cfg)
        try:
            rows = _sample(api, stream, res)
        except HttpError as exc:
            if exc.status != 404:
                raise
            report.profiles[stream.name] = TableProfile(stream.name, res.path, present=False, note=exc.detail)
            continue
        report.profiles[stream.name] = profile_rows(stream.name, res.path, rows)


def _sample(api: OracleFusionAPI, stream: Stream, res) -> list[dict[str, Any]]:
    params = {"onlyData": "true"} | ({"expand": res.child} if res.child else {})
    pages = offset_pages(
        api.http,
        "GET",
        f"{api.root}/{res.path}",
        limit=min(api.limit, SAMPLE_ROWS),
        parse=parse_collection,
        headers=api.headers,
        params=params,
        by_count=True,
    )
    items = (r for p in pages for r in p.records)
    if res.child:
        items = (c for r in items for c in api._children([r], res, []))
    return list(itertools.islice(items, SAMPLE_ROWS))
