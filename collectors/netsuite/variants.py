"""Modeling variants of a NetSuite estate: how a firm holds the same thing, chosen in [sources.<key>].

Each variant is one setting with a closed set of values (the first is the default and today's shape). The
mapping reads the choice as a placeholder (mapping.sql switches on it in SQL, so a firm changes config, never
code), and the demo renderer reads the same key to write such an estate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# 'per_entry': each time line names the entry it bills (custcol_source_id). 'aggregated': one line bills many
# entries (per invoice x role x rate x period), and each entry names its line (custcol_invoice_line).
INVOICE_LINES = ("per_entry", "aggregated")

VARIANTS: dict[str, tuple[str, ...]] = {"invoice_lines": INVOICE_LINES}


def choice(cfg: Mapping[str, Any] | None, name: str) -> str:
    """The variant a source section chooses (its default when unset); an unknown value names the key."""
    allowed = VARIANTS[name]
    value = (cfg or {}).get(name) or allowed[0]
    if value not in allowed:
        raise ValueError(f"key 'sources.netsuite.{name}': {value!r} is not one of {', '.join(allowed)}")
    return value


def variant_params(cfg: Mapping[str, Any] | None) -> dict[str, str]:
    """mapping.sql placeholders: the chosen value of every variant, keyed by the setting's name."""
    return {name: choice(cfg, name) for name in VARIANTS}
