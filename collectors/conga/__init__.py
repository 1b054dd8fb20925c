"""Conga CLM (CLM): Apttus agreements (MSAs, SOWs, amendments) and agreement line items (rate cards,
milestones), read from the firm's Salesforce org through the Salesforce REST transport.

No second HTTP engine: the same OAuth, SOQL /query, nextRecordsUrl paging and retries as collectors/salesforce,
over this source's own streams, object and field names ([sources.conga]).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors._source import name_settings
from collectors.auth import SecretSource
from collectors.conga.streams import (
    CATEGORIES,
    DOCS,
    LINE_TYPES,
    NAMES,
    categories,
    line_types,
    names,
    streams,
)
from collectors.files import FilesCollector
from collectors.salesforce.api import API_SETTINGS, SalesforceAPI
from collectors.salesforce.bulk import check_bulk_settings

SYSTEM = "CLM"
SETTINGS: list[Setting] = [
    *name_settings(NAMES, DOCS),
    Setting(
        "categories",
        dict,
        {},
        f"Value of the category field per kind of agreement, over the defaults {CATEGORIES}.",
    ),
    Setting("line_types", dict, {}, f"Value of the line type field per kind of line, over {LINE_TYPES}."),
    Setting("api_version", str, "v66.0", "REST API version of the org (the Salesforce org Conga lives in)."),
    *API_SETTINGS,  # transport = 'api': the org's connected app, as in [sources.salesforce]
]
MAPPING = Path(__file__).with_name("mapping.sql")

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
    """Refuse unknown kinds in categories / line_types, naming the key and the allowed ones; bulk_streams."""
    check_bulk_settings(cfg, prefix, streams(cfg))
    for key, allowed in (("categories", CATEGORIES), ("line_types", LINE_TYPES)):
        table = cfg.get(key) or {}
        for name, value in table.items():
            if name not in allowed:
                raise ValueError(f"unknown key '{prefix}.{key}.{name}' (allowed: {', '.join(allowed)})")
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"key '{prefix}.{key}.{name}': expected the picklist value as text")


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Placeholders of mapping.sql: API names, ${cat_<stream>} and ${line_<kind>} picklist values."""
    return (
        names(cfg)
        | {f"cat_{k}": _sql_text(v) for k, v in categories(cfg).items()}
        | {f"line_{k}": _sql_text(v) for k, v in line_types(cfg).items()}
    )


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> SalesforceAPI:
    """The Salesforce REST transport over the Conga objects of the org."""
    return SalesforceAPI(cfg, secrets, streams(cfg), source="conga")


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads SOQL records saved as JSON lines, one file per object (as the Salesforce files transport does)."""
    return _files("conga", cfg, streams(cfg))
