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

# 'applied': a credit memo names the invoice it credits by internal id (custbody_source_ref, the applied-to link).
# 'memo': only a text field says so ("Credit for INV0000123"); the invoice is found by its number (tranid).
CREDIT_NOTE_LINK = ("applied", "memo")

# 'lines': each invoice line holds its service period (custcol_period_start/end). 'header': the invoice holds one
# period for all its lines (custbody_period_start/end), which the lines take.
SERVICE_PERIOD = ("lines", "header")

VARIANTS: dict[str, tuple[str, ...]] = {
    "invoice_lines": INVOICE_LINES,
    "credit_note_link": CREDIT_NOTE_LINK,
    "service_period": SERVICE_PERIOD,
}
# free-text companions of the variants: (setting, default)
MEMO_FIELD = ("credit_note_memo_field", "memo")
INVOICE_PATTERN = ("credit_note_invoice_pattern", "INV-?[0-9]+")


def text(cfg: Mapping[str, Any] | None, setting: tuple[str, str]) -> str:
    """A free-text companion setting, or its default."""
    return (cfg or {}).get(setting[0]) or setting[1]


def choice(cfg: Mapping[str, Any] | None, name: str) -> str:
    """The variant a source section chooses (its default when unset); an unknown value names the key."""
    allowed = VARIANTS[name]
    value = (cfg or {}).get(name) or allowed[0]
    if value not in allowed:
        raise ValueError(f"key 'sources.netsuite.{name}': {value!r} is not one of {', '.join(allowed)}")
    return value


def memo_field(cfg: Mapping[str, Any] | None) -> str | None:
    """The transaction text field naming a credited invoice, when credit notes are linked that way."""
    return text(cfg, MEMO_FIELD) if choice(cfg, "credit_note_link") == "memo" else None


def service_period(cfg: Mapping[str, Any] | None) -> str:
    """Where the service period of an invoice's lines is held: 'lines' or 'header'."""
    return choice(cfg, "service_period")


def variant_params(cfg: Mapping[str, Any] | None, n: Mapping[str, str]) -> dict[str, str]:
    """mapping.sql placeholders: the chosen value of every variant, keyed by the setting's name, and the SQL
    they put in it (n: the field names in force)."""
    out = {name: choice(cfg, name) for name in VARIANTS}
    memo = memo_field(cfg)
    # the credit note's reference as read: the applied-to id, or the memo's text (resolved by number after)
    out["credit_note_ref"] = (
        f"CASE WHEN x.type = 'CustCred' THEN x.\"{memo}\" END" if memo else f'x."{n["custbody_source_ref"]}"'
    )
    out["credit_note_invoice_pattern"] = text(cfg, INVOICE_PATTERN).replace("'", "''")
    # the lines' period as read from the line (NULL when the header holds it), and from the header (NULL otherwise)
    for end in ("start", "end"):
        line, body = n[f"custcol_period_{end}"], n[f"custbody_period_{end}"]
        header = service_period(cfg) == "header"
        out[f"line_period_{end}"] = "CAST(NULL AS DATE)" if header else f'"{line}"'
        out[f"header_period_{end}"] = f'h."{body}"' if header else "CAST(NULL AS DATE)"
    return out
