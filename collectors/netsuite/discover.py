"""NetSuite discover: SELECT * over SuiteQL per table (items omit nulls: the union of keys is what the role reads)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from collectors.base import StreamState
from collectors.discover import (
    NAME_THRESHOLD,
    PICKLIST_MAX,
    SAMPLE_ROWS,
    Report,
    TableProfile,
    Wanted,
    kind_of_type,
    name_similarity,
    profile_rows,
    reference_kind,
)
from collectors.files import FilesCollector
from collectors.http import HttpError, offset_pages
from collectors.netsuite.api import NetSuiteAPI, is_bulk, parse_suiteql_page, table_of
from collectors.netsuite.keys import ENTITY_ID, INTERNAL_ID, PROJECT_REFS
from collectors.netsuite.keys import project_link as link_of
from collectors.netsuite.schedules import variant_value_columns
from collectors.netsuite.streams import CORRELATION, CUSTOM_FIELDS, CUSTOM_RECORDS, names, streams

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
    """A SuiteQL sample of SELECT * per table (per transaction type where a table holds several); bulk streams
    from their CSV exports when bulk_path is set. A custom record table the account lacks under its default
    name is looked for among the account's custom record types."""
    ss = streams(cfg)
    api = NetSuiteAPI(cfg, secrets, ss)
    n = names(cfg)
    kinds: list[str] | None = None  # the account's custom record types, read on first need
    for stream in ss:
        table = table_of(stream, cfg)
        if cfg.get("bulk_path") and is_bulk(stream):
            files = FilesCollector("netsuite", Path(str(cfg["bulk_path"])), ss)
            records = (r for b in files.read(stream, StreamState()) for r in _rows(b.records))
            report.profiles[stream.name] = profile_rows(stream.name, table, records)
            continue
        try:
            records = _sample(api, table)
        except HttpError as exc:
            if not _not_there(exc):
                raise
            proposal = None
            if stream.name in CUSTOM_RECORDS:
                kinds = _custom_record_types(api) if kinds is None else kinds
                taken = {n[k] for k in CUSTOM_RECORDS if k != stream.name}
                proposal = _propose_record(CUSTOM_RECORDS[stream.name], kinds, taken | {table})
            if proposal is None:
                report.profiles[stream.name] = TableProfile(
                    stream.name, table, present=False, note=f"SuiteQL {table}: {exc}"
                )
                continue
            other, evidence = proposal
            try:
                records = _sample(api, other)
            except HttpError as again:  # listed, yet this role may not read it either
                if not _not_there(again):
                    raise
                report.profiles[stream.name] = TableProfile(
                    stream.name, table, present=False, note=f"SuiteQL {table}: {exc}"
                )
                continue
            table = other
            report.propose(("custom_records", stream.name), table, evidence)
        report.profiles[stream.name] = profile_rows(stream.name, table, records, limit=len(records))
    _propose_project_links(report, cfg)


def _propose_project_links(report: Report, cfg: Mapping[str, Any]) -> None:
    """project_links.<stream> = 'entityid' where a stream's sampled project references are project entity ids
    rather than internal ids (a saved search or custom field holding 'PRJ…'). Whether the canonical key should
    be the entity id (project_key) depends on what the other systems hold, which one source cannot tell."""
    jobs = report.profiles.get("job")
    if jobs is None or not jobs.present:
        return
    ids = {str(r["id"]) for r in jobs.rows if r.get("id") is not None}
    entity_ids = {str(r["entityid"]) for r in jobs.rows if r.get("entityid") is not None}
    n = names(cfg)
    for stream, column in PROJECT_REFS.items():
        prof = report.profiles.get(stream)
        if prof is None or not prof.present or link_of(cfg, stream) == ENTITY_ID:
            continue
        seen = [str(v) for v in (r.get(n.get(column, column)) for r in prof.rows) if v not in (None, "")]
        kind, share = reference_kind(seen, {ENTITY_ID: entity_ids, INTERNAL_ID: ids})
        if kind == ENTITY_ID:
            report.propose(
                ("project_links", stream),
                ENTITY_ID,
                f"{stream}.{n.get(column, column)}: {share[ENTITY_ID]:.0%} of sampled values are project entity"
                f" ids, {share[INTERNAL_ID]:.0%} internal ids",
                a_name=False,
            )


def _not_there(exc: HttpError) -> bool:
    return exc.status == 403 or "was not found" in str(exc) or "NONEXISTENT" in str(exc.code or "")


def _query(api: NetSuiteAPI, query: str, rows: int) -> list[dict[str, Any]]:
    pages = offset_pages(
        api.http,
        "POST",
        api.url,
        limit=min(api.limit, rows),
        parse=parse_suiteql_page,
        json_body={"q": query},
        headers={"Prefer": "transient"},
        max_rows=rows,
    )
    return list(itertools.islice((r for p in pages for r in p.records), rows))


def _sample(api: NetSuiteAPI, table: str) -> list[dict[str, Any]]:
    """SAMPLE_ROWS items of a table; where it holds several record types (transaction), a share of each:
    SuiteQL leaves null columns out of an item, so a payment's fields are only seen on payments."""
    records = _query(api, f"SELECT * FROM {table}", SAMPLE_ROWS)
    if not any("type" in r for r in records):
        return records
    types = [r["type"] for r in _query(api, f"SELECT DISTINCT type FROM {table}", PICKLIST_MAX + 1)]
    if len(types) < 2 or len(types) > PICKLIST_MAX:
        return records
    share = max(SAMPLE_ROWS // len(types), 50)
    out: list[dict[str, Any]] = []
    for t in types:
        out += _query(api, f"SELECT * FROM {table} WHERE type = '{str(t).replace(chr(39), '')}'", share)
    return out


def _custom_record_types(api: NetSuiteAPI) -> list[str]:
    """Script ids of the account's custom record types (lower case, as tables are named in SuiteQL)."""
    try:
        rows = _query(api, "SELECT scriptid, name FROM customrecordtype", 1000)
    except HttpError:
        return []  # a role that may not list them: the stream stays absent, as before
    return [str(r["scriptid"]).lower() for r in rows if r.get("scriptid")]


def _propose_record(default: str, kinds: list[str], taken: set[str]) -> tuple[str, str] | None:
    """The custom record type most like the default's name (the product's own 'cl' namespace ignored)."""
    core = default.replace("_cl_", "_")
    scored = sorted(
        ((name_similarity(core, k), k) for k in kinds if k not in taken),
        key=lambda p: (-p[0], p[1]),
    )
    if not scored or scored[0][0] < NAME_THRESHOLD:
        return None
    score, kind = scored[0]
    return kind, f"custom record type ~{score:.2f} to {default!r} (customrecordtype)"


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
