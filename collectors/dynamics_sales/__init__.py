"""Dynamics 365 Sales (CRM) over the Dataverse Web API: accounts, opportunities and the CRM's invoices."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._dataverse import mapping_sql, stream_of
from collectors._dataverse.api import DataverseAPI, api_settings
from collectors._source import files_collector as _files
from collectors.auth import SecretSource
from collectors.base import Stream
from collectors.dynamics_sales.entities import ALL, ENTITIES
from collectors.files import FilesCollector

KIND = "dynamics_sales"
SYSTEM = "CRM"
CORRELATION = "cl_correlationid"
SETTINGS: list[Setting] = [
    Setting(
        "correlation_field",
        str,
        CORRELATION,
        "Custom column (on every table read) holding the correlation ID the integration stamps.",
    ),
    *api_settings("https://contoso.crm.dynamics.com"),
]
MAPPING = Path(__file__).with_name("mapping.sql")
HEADER = """-- Dynamics 365 Sales -> canon (generated from collectors/dynamics_sales/entities.py by
-- `python -m collectors.dynamics_sales`; a test keeps the two equal). Each Dataverse table fills one canonical
-- table column for column: its key attribute is the canonical id, each lookup (_x_value, the referenced row's
-- GUID) is resolved to the referenced row's key, option sets arrive as their labels (value-mapped in canon)."""

__all__ = ["MAPPING", "SETTINGS", "SYSTEM", "api_collector", "files_collector", "mapping_params", "streams"]


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """One stream per Dataverse table (entities.py), as the Web API returns its rows."""
    corr = str((cfg or {}).get("correlation_field") or CORRELATION)
    return [stream_of(e, corr) for e in ALL]


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    return {"correlation_field": str(cfg.get("correlation_field") or CORRELATION)}


def generated_mapping() -> str:
    """The mapping SQL as entities.py declares it; mapping.sql is this text."""
    return mapping_sql(ENTITIES, HEADER, where={})


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> DataverseAPI:
    return DataverseAPI(KIND, cfg, secrets, streams(cfg), ALL)


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads the same rows saved as JSON lines, one file per entity set (<entity set>.jsonl)."""
    return _files(KIND, cfg, streams(cfg))
