"""NetSuite (ERP/PSA): entities, customers, projects, time, expenses, billing, invoices, cash and revenue."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors._source import name_settings
from collectors.files import FilesCollector
from collectors.netsuite.api import API_SETTINGS, api_collector
from collectors.netsuite.schedules import SETTINGS as SCHEDULE_SETTINGS
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
]
MAPPING = Path(__file__).with_name("mapping.sql")

SETTINGS += API_SETTINGS  # transport = 'api' (collectors/netsuite/api.py)
SETTINGS += SCHEDULE_SETTINGS  # modeling variants of billing schedules (collectors/netsuite/schedules.py)

__all__ = ["MAPPING", "SETTINGS", "SYSTEM", "api_collector", "files_collector", "mapping_params", "streams"]


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Placeholders of mapping.sql: every custom field name in force, keyed by its default name."""
    return names(cfg)


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads SuiteQL items (JSON lines) and the bulk saved-search CSV exports."""
    return _files("netsuite", cfg, streams(cfg))
