"""Salesforce (CRM): accounts, opportunities and invoice status written back from the ERP."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors._source import name_settings
from collectors.files import FilesCollector
from collectors.salesforce.api import API_SETTINGS, api_collector
from collectors.salesforce.bulk import check_bulk_settings
from collectors.salesforce.streams import DOCS, NAMES, names, relationship, streams

SYSTEM = "CRM"
SETTINGS: list[Setting] = [
    *name_settings(NAMES, DOCS),
    Setting("api_version", str, "v66.0", "REST API version used in record URLs and queries."),
]
MAPPING = Path(__file__).with_name("mapping.sql")

SETTINGS += API_SETTINGS  # transport = 'api' (collectors/salesforce/api.py)

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
    """bulk_streams name streams Bulk API 2.0 can read."""
    check_bulk_settings(cfg, prefix, streams(cfg))


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Placeholders of mapping.sql: the org's API names (and the lookup's relationship name)."""
    n = names(cfg)
    n["inv_opportunity_rel"] = relationship(n["inv_opportunity_field"])
    return n


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads SOQL records saved as JSON lines, one file per object."""
    return _files("salesforce", cfg, streams(cfg))
