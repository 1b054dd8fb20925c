"""Reference data (fx rates, calendar, tax and policy matrices, SLAs): the firm's own CSV files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors.files import FilesCollector
from collectors.reference.streams import TABLES, streams

SYSTEM = "REF"
SETTINGS: list[Setting] = []
MAPPING = Path(__file__).with_name("mapping.sql")

__all__ = ["MAPPING", "SETTINGS", "SYSTEM", "TABLES", "files_collector", "mapping_params", "streams"]


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """mapping.sql has no vendor names beyond the source key."""
    return {}


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads <table>.csv for every reference table."""
    return _files("reference", cfg, streams(cfg))
