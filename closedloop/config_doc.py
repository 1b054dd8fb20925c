"""closedloop.example.toml, rendered from the declared settings so the documentation cannot drift."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from closedloop import settings

HEADER = """\
# closedloop.example.toml: every setting closedloop reads, with its default and what it does.
# Copy to closedloop.toml (or pass --config FILE). Paths are relative to this file.
# Secrets (client secrets, private keys, passwords) never go here: set CLOSEDLOOP_<SOURCE>_<NAME>
# in the environment or put them in .streamlit/secrets.toml under [<source>].
# Regenerate after changing a declaration: python -m closedloop.config_doc > closedloop.example.toml
"""

# Values a newcomer would write where a setting has no default worth showing.
EXAMPLE_VALUES: dict[tuple[str, str], Any] = {
    ("sql", "url"): "sqlite:///data/billing.sqlite",
    ("sql", "transport"): "api",
    ("sql", "streams"): {"payments": "payments"},
    ("files", "streams"): {"timesheets": "timesheets/*.csv"},
    ("salesforce", "values"): {
        "opportunity.deal_type": {"New Business": "new", "Change Order": "change_order"}
    },
    ("ironclad", "values"): {"sow.status": {"Fully Signed": "executed", "Out for Signature": "in_review"}},
    ("netsuite", "values"): {"invoice.status": {"Open": "posted", "Paid In Full": "paid"}},
}


# What a commented-out setting without a default shows, by type.
_PLACEHOLDER = {dt.date: dt.date(2026, 10, 31), str: "", int: 0, float: 0.0}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return f'"{value.isoformat()}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def toml_key(key: str) -> str:
    """A TOML key: bare where TOML allows it, else quoted ('sow.status', 'Fully Signed')."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _lines(settings_list: list[settings.Setting], kind: str | None = None) -> list[str]:
    out = []
    for s in settings_list:
        doc = s.doc + (f" One of: {', '.join(map(str, s.choices))}." if s.choices else "")
        out.append(f"# {doc}")
        if s.secret:
            env = f"CLOSEDLOOP_{(kind or '').upper()}_{s.name.upper()}"
            out.append(f"# {s.name}: secret, from ${env} or .streamlit/secrets.toml")
            continue
        value = EXAMPLE_VALUES.get((kind or "", s.name), s.default)
        if kind and s.name == "path" and value is None:
            value = f"exports/{kind}"
        if kind and s.name == "kind":
            value = kind
        if value is None:
            out.append(f"# {s.name} = {toml_value(_PLACEHOLDER.get(s.type, ''))}")
        else:
            out.append(f"{s.name} = {toml_value(value)}")
    return out


def render() -> str:
    """The whole example file: the top-level sections, then one source of every documented kind."""
    parts = [HEADER]
    for section, declared in settings.SECTIONS.items():
        parts.append(f"[{section}]")
        parts.extend(_lines(declared))
        parts.append("")
    for kind in settings.DOCUMENTED_KINDS:
        module = settings.source_module(kind)
        parts.append(f"# --- {module.__doc__.strip().splitlines()[0] if module.__doc__ else kind}")
        parts.append(f"[sources.{kind}]")
        parts.extend(_lines(settings.source_settings(kind), kind))
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
