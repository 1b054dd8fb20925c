"""Data faults for the demo: break a rendered firm's exports the way real extracts break.

Each fault edits the vendor export files in place (after rendering), so the run sees exactly what a
broken source would send: keys missing or repeated, a status nobody mapped, a dropped column, a
source that stopped updating, an extract that came back partial. `closedloop demo --data-fault KIND`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path


class DataFaultError(ValueError):
    """An unknown fault or one that cannot apply to these exports."""


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write(path: Path, records: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, separators=(",", ":")) + "\n")
    tmp.replace(path)


def _opportunities(exports: Path) -> Path:
    path = exports / "salesforce" / "Opportunity.jsonl"
    if not path.is_file():
        raise DataFaultError(f"no Salesforce opportunity export at {path}")
    return path


def null_keys(exports: Path) -> str:
    """Every 20th opportunity loses its Id."""
    path = _opportunities(exports)
    records = _read(path)
    for r in records[::20]:
        r["Id"] = None
    _write(path, records)
    return f"{len(records[::20])} opportunities without Id"


def duplicate_keys(exports: Path) -> str:
    """Five opportunities appear twice with different amounts (a conflicting duplicate, not a page repeat)."""
    path = _opportunities(exports)
    records = _read(path)
    copies = [{**r, "Amount": (r.get("Amount") or 0) + 1000} for r in records[:5]]
    _write(path, records + copies)
    return "5 opportunity Ids duplicated with conflicting content"


def unmapped_status(exports: Path) -> str:
    """A stage value nobody mapped: what a new picklist value looks like the day it ships."""
    path = _opportunities(exports)
    records = _read(path)
    for r in records[::10]:
        r["StageName"] = "Closed Won - Pending Legal"
    _write(path, records)
    return f"{len(records[::10])} opportunities in an unmapped stage"


def dropped_column(exports: Path) -> str:
    """The Amount field disappears from the opportunity extract (a field-level security change)."""
    path = _opportunities(exports)
    _write(path, [{k: v for k, v in r.items() if k != "Amount"} for r in _read(path)])
    return "Opportunity.Amount dropped"


def stale(exports: Path, days: int = 10) -> str:
    """Salesforce stopped updating: every modification stamp moves `days` into the past."""
    shifted = 0
    for path in (exports / "salesforce").glob("*.jsonl"):
        records = _read(path)
        for r in records:
            stamp = r.get("SystemModstamp")
            if stamp:
                when = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z") - dt.timedelta(days=days)
                r["SystemModstamp"] = when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
                shifted += 1
        _write(path, records)
    return f"{shifted} Salesforce records last modified {days} days earlier"


def volume_collapse(exports: Path) -> str:
    """The opportunity extract comes back with a third of its rows (a partial extract)."""
    path = _opportunities(exports)
    records = _read(path)
    _write(path, records[: max(1, len(records) // 3)])
    return f"{len(records) - len(records) // 3} of {len(records)} opportunities missing"


FAULTS: dict[str, Callable[[Path], str]] = {
    "null_keys": null_keys,
    "duplicate_keys": duplicate_keys,
    "unmapped_status": unmapped_status,
    "dropped_column": dropped_column,
    "stale": stale,
    "volume_collapse": volume_collapse,
}


def apply(exports: Path, kinds: list[str]) -> list[str]:
    """Apply the named faults to an export directory; returns what each did, for the demo's output."""
    unknown = [k for k in kinds if k not in FAULTS]
    if unknown:
        raise DataFaultError(f"unknown data fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    return [f"{k}: {FAULTS[k](Path(exports))}" for k in kinds]
