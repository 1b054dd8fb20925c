"""Helpers every source module shares: vendor names from config over defaults, the files transport."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors.base import Column, Stream
from collectors.files import FilesCollector


def name_settings(defaults: Mapping[str, str], docs: Mapping[str, str]) -> list[Setting]:
    """One str setting per configurable vendor name (custom field, object, record type, property key)."""
    return [
        Setting(key, str, default, docs.get(key, f"Vendor name used for '{key}'."))
        for key, default in defaults.items()
    ]


def resolve_names(defaults: Mapping[str, str], cfg: Mapping[str, Any] | None) -> dict[str, str]:
    """The vendor names in force: config values over defaults (empty or missing keys keep the default)."""
    cfg = cfg or {}
    return {key: str(cfg.get(key) or default) for key, default in defaults.items()}


def cols(*specs: str, required: tuple[str, ...] = ()) -> tuple[Column, ...]:
    """Columns from 'name' or 'name:TYPE' specs, so declarations read as one line per stream.

    A name given twice with one type is one field configured into two roles (inv_number_field = "Name"):
    it is declared once (the raw table cannot hold a column twice; the mapping selects it in both roles).
    """
    out: dict[str, Column] = {}
    for spec in specs:
        name, _, typ = spec.partition(":")
        col = Column(name, typ or "VARCHAR", required=name in required)
        if name in out and out[name].type != col.type:
            raise ValueError(f"column {name!r} declared as {out[name].type} and as {col.type}")
        out.setdefault(name, col)
    return tuple(out.values())


def split_spec(spec: str) -> tuple[str, str]:
    """('name', 'TYPE') of a 'name[:TYPE]' spec."""
    name, _, typ = spec.partition(":")
    return name, typ or "VARCHAR"


def files_collector(source: str, cfg: Mapping[str, Any], streams: list[Stream]) -> FilesCollector:
    """The files transport over the source's export directory (cfg['path'])."""
    if not cfg.get("path"):
        raise ValueError(f"[sources.{source}] path is required for transport = 'files'")
    return FilesCollector(source, Path(cfg["path"]), streams)
