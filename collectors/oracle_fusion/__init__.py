"""Oracle Fusion Cloud ERP / PPM (ERP/PSA): projects, billing events, expenditure items, receivables and cash."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors.files import FilesCollector
from collectors.oracle_fusion.api import API_SETTINGS, api_collector
from collectors.oracle_fusion.streams import CORRELATION, FLEXFIELDS, SPECS, names, streams

SYSTEM = "ERP"
SETTINGS: list[Setting] = [
    Setting(
        "correlation_field",
        str,
        CORRELATION["correlation_field"],
        "Flexfield segment (API name) holding the correlation ID on every resource.",
    ),
    Setting(
        "flexfields",
        dict,
        {},
        "Renamed descriptive flexfield segments: {default segment = your segment's API name}. Defaults: "
        + ", ".join(FLEXFIELDS)
        + ".",
    ),
    Setting(
        "resources",
        dict,
        {},
        "Renamed REST resources or child resources where the pod's release differs: {default = yours}.",
    ),
    *API_SETTINGS,
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
    """Renamed flexfields and resources must name known defaults: a typo would otherwise be ignored."""
    for key, known in (
        ("flexfields", FLEXFIELDS),
        (
            "resources",
            {r[0].path for r in SPECS.values()} | {r[0].child for r in SPECS.values() if r[0].child},
        ),
    ):
        for name in cfg.get(key) or {}:
            if name not in known:
                raise ValueError(
                    f"key '{prefix}.{key}.{name}': not a known default (known: {', '.join(sorted(known))})"
                )
    page = cfg.get("page_size")
    if page is not None and not 1 <= int(page) <= 500:
        raise ValueError(f"key '{prefix}.page_size': {page} is outside 1..500")


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Placeholders of mapping.sql: each flexfield segment's name in force, keyed by its default name."""
    return names(cfg)


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """The same resources read from exported JSON-lines files (one item per line)."""
    return _files("oracle_fusion", cfg, streams(cfg))
