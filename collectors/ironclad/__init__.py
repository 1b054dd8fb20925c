"""Ironclad (CLM): executed MSAs, SOWs, amendments, rate cards and milestones from the records repository."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors.files import FilesCollector
from collectors.ironclad.api import API_SETTINGS, api_collector
from collectors.ironclad.streams import PROPERTIES, RECORD_TYPES, property_keys, record_types, streams

SYSTEM = "CLM"
SETTINGS: list[Setting] = [
    Setting(
        "correlation_property",
        str,
        PROPERTIES["correlation_id"][0],
        "Record property holding the correlation ID.",
    ),
    Setting(
        "opportunity_property",
        str,
        PROPERTIES["opportunity_id"][0],
        "Record property holding the Salesforce opportunity id.",
    ),
    Setting(
        "record_types", dict, {}, f"Tenant record type keys by stream, over the defaults {RECORD_TYPES}."
    ),
    Setting(
        "properties",
        dict,
        {},
        "Tenant property keys by logical name (see collectors/ironclad/streams.py PROPERTIES).",
    ),
]
MAPPING = Path(__file__).with_name("mapping.sql")

SETTINGS += API_SETTINGS  # transport = 'api' (collectors/ironclad/api.py)

__all__ = ["MAPPING", "SETTINGS", "SYSTEM", "api_collector", "files_collector", "mapping_params", "streams"]


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Placeholders of mapping.sql: ${p_<logical>} = the tenant key of each property."""
    return {f"p_{k}": v for k, v in property_keys(cfg).items()} | {
        f"t_{k}": v for k, v in record_types(cfg).items()
    }


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads /records pages saved as JSON lines, one file per record type."""
    return _files("ironclad", cfg, streams(cfg))
