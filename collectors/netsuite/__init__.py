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
from collectors.netsuite.streams import CORRELATION, CUSTOM_RECORDS, names, streams

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
check_settings = _keys.check_settings


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Placeholders of mapping.sql: every custom field name in force, keyed by its default name; project keys."""
    n = names(cfg)
    return n | _keys.mapping_params(cfg, n)


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads SuiteQL items (JSON lines) and the bulk saved-search CSV exports."""
    return _files("netsuite", cfg, streams(cfg))
