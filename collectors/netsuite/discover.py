"""NetSuite discover: SELECT * over SuiteQL per table (items omit nulls: the union of keys is what the role reads)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors.base import StreamState
from collectors.discover import SAMPLE_ROWS, Report, TableProfile, Wanted, kind_of_type, profile_rows
from collectors.files import FilesCollector
from collectors.http import HttpError, offset_pages
from collectors.netsuite.api import NetSuiteAPI, is_bulk, parse_suiteql_page, table_of
from collectors.netsuite.schedules import variant_value_columns
from collectors.netsuite.streams import CORRELATION, CUSTOM_FIELDS, names, streams

# Canonical enumerated column -> (stream, column by default name, rows the mapping reads).
VALUE_COLUMNS: dict[str, tuple[str, str, dict[str, tuple[str, ...]] | None]] = {
    "invoice.status": ("transaction", "status", {"type": ("CustInvc", "CustCred")}),
    "project.status": ("job", "entitystatus", None),
    "project.billing_type": ("job", "jobbillingtype", None),
    "time_entry.approval_status": ("timebill", "approvalstatus", None),
    "expense.approval_status": ("expense_line", "approvalstatus", None),
    "invoice_line.line_type": ("transactionline", "custcol_line_type", None),
    "billing_schedule.line_type": ("billingschedule_line", "custrecord_line_type", None),
    "billing_rule.rule_type": ("chargerule", "ruletype", None),
    "milestone.status": ("milestone", "custrecord_status", None),
    "milestone.billing_trigger": ("milestone", "custrecord_billing_trigger", None),
    "collection_action.action_type": ("collection_action", "custrecord_action_type", None),
}


def _settings(cfg: Mapping[str, Any]) -> dict[str, tuple[tuple[str, ...], str]]:
    """Vendor name in force -> (the setting that renames it, its default name)."""
    n = names(cfg)
    out = {n[k]: ((k,), default) for k, default in CORRELATION.items()}
    for f in CUSTOM_FIELDS:
        out.setdefault(n[f], (("custom_fields", f), f))
    return out


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    """Per stream, each declared column; correlation and custom fields carry the setting that renames them."""
    by_name = _settings(cfg)
    out: dict[str, list[Wanted]] = {}
    for s in streams(cfg):
        ws = []
        for c in s.columns:
            setting, default = by_name.get(c.name, (None, c.name))
            ws.append(Wanted(s.name, c.name, default, setting, kind_of_type(c.type)))
        out[s.name] = ws
    return out


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, Any]]:
    n = names(cfg)
    columns = VALUE_COLUMNS | variant_value_columns(cfg)  # charges, acceptance on tasks (schedules.py)
    return {canon: (stream, n.get(col, col), where) for canon, (stream, col, where) in columns.items()}


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """One SuiteQL page of SELECT * per table; bulk streams from their CSV exports when bulk_path is set."""
    ss = streams(cfg)
    api = NetSuiteAPI(cfg, secrets, ss)
    for stream in ss:
        table = table_of(stream, cfg)
        if cfg.get("bulk_path") and is_bulk(stream):
            files = FilesCollector("netsuite", Path(str(cfg["bulk_path"])), ss)
            records = (r for b in files.read(stream, StreamState()) for r in _rows(b.records))
            report.profiles[stream.name] = profile_rows(stream.name, table, records)
            continue
        query = f"SELECT * FROM {table}"
        try:
            pages = offset_pages(
                api.http,
                "POST",
                api.url,
                limit=min(api.limit, SAMPLE_ROWS),
                parse=parse_suiteql_page,
                json_body={"q": query},
                headers={"Prefer": "transient"},
                max_rows=SAMPLE_ROWS,
            )
            records = list(itertools.islice((r for p in pages for r in p.records), SAMPLE_ROWS))
        except HttpError as exc:
            if exc.status == 403 or "was not found" in str(exc) or "NONEXISTENT" in str(exc.code or ""):
                report.profiles[stream.name] = TableProfile(
                    stream.name, table, present=False, note=f"SuiteQL {table}: {exc}"
                )
                continue
            raise
        report.profiles[stream.name] = profile_rows(stream.name, table, records)


def _rows(records) -> list[dict[str, Any]]:
    """Batch records as dicts (CSV batches come as Arrow tables), empty cells as missing like SuiteQL items."""
    if isinstance(records, list):
        return records
    return [
        {k: v for k, v in r.items() if v not in (None, "")} for r in records.slice(0, SAMPLE_ROWS).to_pylist()
    ]
