"""The README's systems table names every documented source kind and each kind's own config keys."""

from __future__ import annotations

import re
from pathlib import Path

from closedloop.settings import DOCUMENTED_KINDS, SOURCE_COMMON, source_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _rows() -> dict[str, str]:
    text = README.read_text()
    section = text.split("### Systems", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = line
    return rows


def _covered(key: str, row: str) -> bool:
    """A key is named in the row, or by a wildcard there (`inv_*_field`)."""
    for name in re.findall(r"`([^`]+)`", row):
        if name == key or ("*" in name and re.fullmatch(re.escape(name).replace(r"\*", ".*"), key)):
            return True
    return False


def test_every_documented_kind_has_a_row_naming_its_own_keys():
    rows = _rows()
    assert set(DOCUMENTED_KINDS) <= set(rows), sorted(set(DOCUMENTED_KINDS) - set(rows))
    common = {s.name for s in SOURCE_COMMON}
    # rows that defer to another kind's keys ("as dynamics_sales", "the generic REST keys", "the Salesforce ... keys")
    defers = {"dynamics_project": "dynamics_sales", "icertis": "rest_generic", "conga": "salesforce"}
    missing = {}
    for kind in DOCUMENTED_KINDS:
        row = rows[kind] + rows.get(defers.get(kind, kind), "")
        own = [s.name for s in source_settings(kind) if s.name not in common]
        gaps = [k for k in own if not _covered(k, row)]
        if gaps:
            missing[kind] = gaps
    assert not missing, missing
