"""NetSuite (ERP/PSA): entities, customers, projects, time, expenses, billing, invoices, cash and revenue."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors._source import name_settings
from collectors.files import FilesCollector
from collectors.netsuite import keys as _keys
from collectors.netsuite.api import API_SETTINGS, api_collector
from collectors.netsuite.schedules import SETTINGS as SCHEDULE_SETTINGS
from collectors.netsuite.streams import CORRELATION, CUSTOM_RECORDS, names, streams
from collectors.netsuite.variants import (
    CREDIT_NOTE_LINK,
    INVOICE_LINES,
    INVOICE_PATTERN,
    MEMO_FIELD,
    SERVICE_PERIOD,
    variant_params,
)

SYSTEM = "ERP"
_DOCS = {k: f"Custom field ({k.split('_')[1]} family) holding the correlation ID." for k in CORRELATION}
SETTINGS: list[Setting] = [
    *name_settings(CORRELATION, _DOCS),
    Setting(
        "custom_fields",
        dict,
        {},
        "Renamed custom fields: {default name = your name}, see netsuite/streams.py.",
    ),
    Setting(
        "custom_records", dict, {}, f"Custom record tables by stream, over the defaults {CUSTOM_RECORDS}."
    ),
    Setting(
        "invoice_lines",
        str,
        INVOICE_LINES[0],
        "How time is billed: 'per_entry' (each time line names its entry in custcol_source_id) or 'aggregated'"
        " (one line for many entries, e.g. per invoice x role x rate x period; each entry names its line in"
        " custcol_invoice_line, and a line its entries name is linked through them).",
        choices=INVOICE_LINES,
    ),
    Setting(
        "credit_note_link",
        str,
        CREDIT_NOTE_LINK[0],
        "How a credit note names the invoice it credits: 'applied' (its internal id in custbody_source_ref) or"
        " 'memo' (the invoice's number in a text field, credit_note_memo_field, found by credit_note_invoice_pattern).",
        choices=CREDIT_NOTE_LINK,
    ),
    Setting(
        MEMO_FIELD[0],
        str,
        MEMO_FIELD[1],
        "Transaction field holding e.g. 'Credit for INV0000123' (credit_note_link = 'memo').",
    ),
    Setting(
        INVOICE_PATTERN[0],
        str,
        INVOICE_PATTERN[1],
        "Regular expression of an invoice number (tranid) in that text; its first match names the invoice.",
    ),
    Setting(
        "service_period",
        str,
        SERVICE_PERIOD[0],
        "Where an invoice's service period is held: 'lines' (custcol_period_start/end on each line) or 'header'"
        " (custbody_period_start/end on the invoice, taken by all its lines).",
        choices=SERVICE_PERIOD,
    ),
    Setting(
        "project_key",
        str,
        _keys.INTERNAL_ID,
        "The project's key in the canonical model: its internal id ('id') or its entity id ('entityid',"
        " e.g. PRJ000123), whichever the firm's other systems (a CLM milestone's project property) hold.",
        choices=_keys.PROJECT_KEYS,
    ),
    Setting(
        "project_links",
        dict,
        {},
        "What each stream's project reference carries, internal id ('id', the default) or entity id"
        f" ('entityid'): {{transaction = 'entityid'}}. Streams: {', '.join(_keys.PROJECT_REFS)}.",
    ),
]
MAPPING = Path(__file__).with_name("mapping.sql")

SETTINGS += API_SETTINGS  # transport = 'api' (collectors/netsuite/api.py)
SETTINGS += SCHEDULE_SETTINGS  # modeling variants of billing schedules (collectors/netsuite/schedules.py)

__all__ = [
    "MAPPING",
    "SETTINGS",
    "SYSTEM",
    "api_collector",
    "check_settings",
    "files_collector",
    "mapping_params",
    "streams",
]


def check_settings(cfg: Mapping[str, Any], prefix: str) -> None:
    """Project keys and links (collectors/netsuite/keys.py), and the credit-note pattern: a regular expression
    DuckDB (RE2) compiles, refused when the config loads rather than in the middle of a run."""
    _keys.check_settings(cfg, prefix)
    pattern = cfg.get(INVOICE_PATTERN[0])
    if pattern:
        import duckdb

        try:
            duckdb.execute("SELECT regexp_matches('', ?)", [pattern])
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0]
            raise ValueError(
                f"key '{prefix}.{INVOICE_PATTERN[0]}': {pattern!r} is not a regular expression ({reason})"
            ) from None


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Placeholders of mapping.sql: every custom field name in force (keyed by its default name), the SQL of
    the modeling variants the section chooses (collectors/netsuite/variants.py) and of its project keys."""
    n = names(cfg)
    return n | variant_params(cfg, n) | _keys.mapping_params(cfg, n)


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads SuiteQL items (JSON lines) and the bulk saved-search CSV exports."""
    return _files("netsuite", cfg, streams(cfg))
