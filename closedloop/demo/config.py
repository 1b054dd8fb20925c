"""The demo's own configuration: every vendor source reading the generated exports of one firm."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.config_doc import toml_key, toml_value

DEFAULT_SYSTEMS = ("salesforce", "ironclad", "netsuite")
DEMO_SOURCES = ("reference", *DEFAULT_SYSTEMS, "middleware")


def demo_toml(
    as_of: dt.date,
    *,
    transport: str = "files",
    extra: str = "",
    api: Mapping[str, Mapping[str, Any]] | None = None,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
    systems: tuple[str, ...] = DEFAULT_SYSTEMS,
) -> str:
    """A closedloop.toml for a demo directory (paths relative to it), as a newcomer would write one.

    api[source] holds the API transport keys of a source collected through the sandbox (no secrets);
    sections[source] the estate's own settings of that source (an estate profile's names, maps and variants);
    systems: the estate's vendor sources (source key = kind).
    """
    if isinstance(as_of, str):  # the generator's params may carry it as text
        as_of = dt.date.fromisoformat(as_of[:10])
    lines = [
        "# Written by `closedloop demo`: the demo firm's sources, read from its vendor-shaped exports.",
        "[closedloop]",
        'data_dir = "."',
        f'as_of = "{as_of.isoformat()}"',
        "",
    ]
    for key in ("reference", *systems, "middleware"):
        own = (sections or {}).get(key) or {}
        if api and key in api:
            # the estate's own scalar settings win (an estate may collect this source from files: transport)
            keys = {k: v for k, v in api[key].items() if k not in own}
            lines += [f"[sources.{key}]", *(f"{k} = {_toml(v)}" for k, v in keys.items())]
        else:
            lines += [
                f"[sources.{key}]",
                f'transport = "{transport if key not in ("reference", "middleware") else "files"}"',
            ]
        lines += [f'path = "exports/{key}"']
        lines += [f"{k} = {toml_value(v)}" for k, v in own.items() if not isinstance(v, Mapping)]
        for name, table in own.items():
            if isinstance(table, Mapping):
                lines += [
                    "",
                    f"[sources.{key}.{name}]",
                    *(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()),
                ]
        lines += [""]
    if "salesforce" in systems:
        lines += [
            "[contracts]",
            "# The demo org's opportunity stages: a firm lists its own picklist, so a new value is caught.",
            'allowed_values = {"salesforce.opportunity.StageName" = ["Prospecting", "Qualification", "Proposal",'
            ' "Negotiation", "Closed Won", "Closed Lost"]}',
            "",
        ]
    return "\n".join(lines) + extra


def write_demo_config(
    out_dir: Path,
    as_of: dt.date,
    *,
    transport: str = "files",
    extra: str = "",
    api: Mapping[str, Mapping[str, Any]] | None = None,
    name: str = "closedloop.toml",
    sections: Mapping[str, Mapping[str, Any]] | None = None,
    systems: tuple[str, ...] = DEFAULT_SYSTEMS,
) -> Path:
    path = Path(out_dir) / name
    text = demo_toml(as_of, transport=transport, extra=extra, api=api, sections=sections, systems=systems)
    path.write_text(text, encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    """A TOML value for the simple types a source section holds (JSON strings are valid TOML strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))
