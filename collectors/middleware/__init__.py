"""Middleware (integration platform): every sync event between CRM, CLM and ERP, with its correlation ID."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors.files import FilesCollector
from collectors.middleware.streams import streams

SYSTEM = "INT"
SETTINGS: list[Setting] = [
    Setting("events_pattern", str, "events*.jsonl", "Glob (under path) of the event log export files."),
]
MAPPING = Path(__file__).with_name("mapping.sql")

__all__ = ["MAPPING", "SETTINGS", "SYSTEM", "files_collector", "mapping_params", "streams"]


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """mapping.sql has no vendor names beyond the source key."""
    return {}


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads the event log export (JSON lines)."""
    return _files("middleware", cfg, streams(cfg))
