"""NetSuite discover: SELECT * over SuiteQL per table (items omit nulls: the union of keys is what the role reads)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors.base import StreamState
from collectors.discover import (
    PICKLIST_MAX,
    SAMPLE_ROWS,
    Report,
    TableProfile,
    Wanted,
    kind_of_type,
    profile_rows,
)
from collectors.files import FilesCollector
from collectors.http import HttpError, offset_pages
from collectors.netsuite.api import NetSuiteAPI, is_bulk, parse_suiteql_page, table_of
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
    return {canon: (stream, n.get(col, col), where) for canon, (stream, col, where) in VALUE_COLUMNS.items()}


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


def all_values(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    """Every distinct value of each enumerated column, not only the sampled page's: a status that no sampled
    row holds (a rare approval state) would otherwise be left out of the drafted map and found unmapped later.
    cfg carries the names discover proposed, so a renamed status field is asked under its own name."""
    ss = streams(cfg)
    api = NetSuiteAPI(cfg, secrets, ss)
    by_name = {s.name: s for s in ss}
    for canonical, (stream_name, column, where) in value_columns(cfg).items():
        prof = report.profiles.get(stream_name)
        if prof is None or not prof.present or column not in prof.columns:
            continue
        stream = by_name[stream_name]
        values: dict[str, None] = {}
        if cfg.get("bulk_path") and is_bulk(stream):
            files = FilesCollector("netsuite", Path(str(cfg["bulk_path"])), ss)
            for batch in files.read(stream, StreamState()):
                rows = batch.records if isinstance(batch.records, list) else batch.records.to_pylist()
                values.update((str(r[column]), None) for r in rows if r.get(column) not in (None, ""))
                if len(values) > PICKLIST_MAX:
                    break
        else:
            filters = [f"{k} IN ({', '.join(repr(v) for v in vs)})" for k, vs in (where or {}).items()]
            query = f"SELECT DISTINCT {column} FROM {table_of(stream, cfg)}" + (
                f" WHERE {' AND '.join(filters)}" if filters else ""
            )
            pages = offset_pages(
                api.http,
                "POST",
                api.url,
                limit=PICKLIST_MAX + 1,  # one page: more distinct values than this is not a picklist
                parse=parse_suiteql_page,
                json_body={"q": query},
                headers={"Prefer": "transient"},
                max_rows=PICKLIST_MAX + 1,
            )
            values.update(
                (str(r[column]), None) for p in pages for r in p.records if r.get(column) is not None
            )
        if values and len(values) <= PICKLIST_MAX:
            report.distinct[canonical] = list(values)


def _rows(records) -> list[dict[str, Any]]:
    """Batch records as dicts (CSV batches come as Arrow tables), empty cells as missing like SuiteQL items."""
    if isinstance(records, list):
        return records
    return [
        {k: v for k, v in r.items() if v not in (None, "")} for r in records.slice(0, SAMPLE_ROWS).to_pylist()
    ]
