"""A firm's own picklist values in its exports: the inverse of the source's [values] map, applied to the files.

A source section's `values` ({"table.column": {vendor value: canonical value}}) is what a customer writes so
that closedloop reads their words; the renderer honours the same table by writing, wherever the source holds
that column, the first vendor value mapped to each canonical value. It rewrites the rendered files rather
than the canonical frames, so renderer logic that branches on canonical values (line types, statuses) is
untouched. Which file and field hold a column is what discover profiles (value_columns of each vendor).
"""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop import valuemaps

VENDORS = ("salesforce", "netsuite", "ironclad", "conga")


def inverse(values: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Per canonical column, canonical value -> the vendor value to write (the first one mapped to it)."""
    out: dict[str, dict[str, str]] = {}
    for column, pairs in values.items():
        for vendor, canonical in pairs.items():
            if canonical != valuemaps.TODO:
                out.setdefault(column, {}).setdefault(canonical, vendor)
    return out


def rewrite(source: str, out: Path, cfg: Mapping[str, Any]) -> int:
    """Rewrite the rendered exports of one source under out/ into the vendor values of cfg["values"]."""
    values = inverse(cfg.get("values") or {})
    if source not in VENDORS or not values:
        return 0
    vendor = importlib.import_module(f"collectors.{source}")
    columns = importlib.import_module(f"collectors.{source}.discover").value_columns(cfg)
    files = {s.name: out / (s.file_pattern or "") for s in vendor.streams(cfg)}
    changed = 0
    for column, to_vendor in values.items():
        if column not in columns:
            raise ValueError(f"sources.{source}.values: {source} holds no column for {column!r}")
        stream, field, where = columns[column]
        path = files[stream]
        if not path.is_file():
            continue
        if source == "ironclad":
            changed += _rewrite_jsonl(
                path, lambda r, f=field: r.get("properties", {}).get(f), to_vendor, None
            )
        elif path.suffix == ".csv":
            changed += _rewrite_csv(path, field, to_vendor)
        else:
            changed += _rewrite_jsonl(path, lambda r, f=field: r, to_vendor, where, field)
    return changed


def _selected(record: Mapping[str, Any], where: Mapping[str, tuple[str, ...]] | None) -> bool:
    return not where or all(record.get(k) in allowed for k, allowed in where.items())


def _rewrite_jsonl(path: Path, holder, to_vendor: Mapping[str, str], where, field: str = "value") -> int:
    """JSON lines whose holder(record)[field] is a canonical value: written as the vendor value."""
    changed, lines = 0, []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            record = json.loads(line)
            box = holder(record)
            if isinstance(box, dict) and _selected(record, where) and box.get(field) in to_vendor:
                box[field] = to_vendor[box[field]]
                changed += 1
            lines.append(json.dumps(record, separators=(",", ":")))
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return changed


def _rewrite_csv(path: Path, field: str, to_vendor: Mapping[str, str]) -> int:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames or []), list(reader)
    if field not in header:
        return 0
    changed = 0
    for row in rows:
        if row[field] in to_vendor:
            row[field] = to_vendor[row[field]]
            changed += 1
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return changed
