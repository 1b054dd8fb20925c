"""Ironclad (CLM): executed MSAs, SOWs, amendments, rate cards and milestones from the records repository."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors.files import FilesCollector
from collectors.ironclad import keys as _keys
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
    Setting(
        "keys",
        dict,
        {},
        "Property holding each record type's business key (the contract or SOW number other systems"
        f" know), by stream: {{sow = 'sowNumber'}}; a stream not listed is keyed by its record id. Streams:"
        f" {', '.join(_keys.KEYED)}.",
    ),
    Setting(
        "links",
        dict,
        {},
        "What each reference property carries: the parent's business key ('business_key', the default) or"
        " its Ironclad record id ('record_id'), by reference: {'amendment.sow_id' = 'record_id'}. References:"
        f" {', '.join(_keys.LINKS)}.",
    ),
]
MAPPING = Path(__file__).with_name("mapping.sql")

SETTINGS += API_SETTINGS  # transport = 'api' (collectors/ironclad/api.py)

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
    """Placeholders of mapping.sql: ${p_<logical>} = the tenant key of each property, keys and links SQL."""
    return (
        {f"p_{k}": v for k, v in property_keys(cfg).items()}
        | {f"t_{k}": v for k, v in record_types(cfg).items()}
        | _keys.mapping_params(cfg, "${source}")  # ${source} is filled in a second pass (canonical.py)
    )


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads /records pages saved as JSON lines, one file per record type."""
    return _files("ironclad", cfg, streams(cfg))
