"""`closedloop discover SOURCE`: introspect a configured source and draft the config that reads what it has.

The vendor modules (collectors/<kind>/discover.py) know where to look (describe, SuiteQL SELECT *, records
metadata); collectors/discover.py matches what they found against what the streams want. Sources on
transport = 'files' are profiled from their export files, whatever their kind.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from closedloop import settings as cfgmod
from collectors import discover as d
from collectors.base import CollectorError
from collectors.files import format_of, read_file


def vendor_module(kind: str) -> ModuleType | None:
    """collectors.<kind>.discover when the kind has one (salesforce, netsuite, ironclad)."""
    try:
        return importlib.import_module(f"collectors.{kind}.discover")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"collectors.{kind}"):
            return None
        raise


def run(key: str, cfg: Mapping[str, Any], secrets: Callable[[str], str | None]) -> d.Report:
    """Introspect source `key` (its validated config section) and match it against what its streams want."""
    kind = str(cfg.get("kind") or key)
    transport = str(cfg.get("transport") or "files")
    report = d.Report(key, kind, transport)
    vendor = vendor_module(kind)
    if transport == "api":
        if vendor is None:
            raise CollectorError(f"[sources.{key}] kind {kind!r} has no discover for transport = 'api'")
        vendor.introspect(report, cfg, secrets)
    elif vendor is not None and hasattr(vendor, "profile_files"):  # exports that need the vendor's reading
        vendor.profile_files(report, cfg)
    else:
        _profile_files(report, cfg, kind, vendor)
    if vendor is not None:
        known = vendor.known(cfg) if hasattr(vendor, "known") else ()
        d.settle(report, vendor.wanted(cfg), known)
        proposed = with_proposals(cfg, report.settings)  # a renamed status field is read under its name
        if transport == "api" and hasattr(vendor, "all_values"):
            vendor.all_values(report, proposed, secrets)
        d.draft_values(report, vendor.value_columns(proposed))
    else:
        report.notes.append(f"kind {kind!r} declares no wanted columns: the report lists what the files hold")
    return report


def with_proposals(cfg: Mapping[str, Any], proposals: Mapping[tuple[str, ...], tuple[str, str]]) -> dict:
    """The source's config with discover's proposed names in force (nested keys such as custom_fields.x)."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in cfg.items()}
    for key, (value, _) in proposals.items():
        if len(key) == 1:
            out[key[0]] = value
        else:
            out.setdefault(key[0], {})[key[1]] = value
    return out


def _profile_files(report: d.Report, cfg: Mapping[str, Any], kind: str, vendor: ModuleType | None) -> None:
    """Headers and sampled values of each stream's files (the first files of its pattern, SAMPLE_ROWS rows)."""
    root = Path(str(cfg.get("path") or "."))
    if kind == "files":
        patterns = dict(cfg.get("streams") or {})
    else:
        module = cfgmod.source_module(kind)
        patterns = {s.name: s.file_pattern or f"{s.name}.*" for s in module.streams(cfg)}
    flatten = getattr(vendor, "flatten", None) if kind == "ironclad" else None
    for stream, pattern in patterns.items():
        paths = sorted(p for p in root.glob(pattern) if p.is_file())
        if not paths:
            report.profiles[stream] = d.TableProfile(
                stream, pattern, present=False, note=f"no file matches {pattern!r} in {root}"
            )
            continue
        records = (r for p in paths for b in read_file(p, p.name) for r in _records(b.records))
        if flatten is not None:
            records = (flatten(r) for r in records)
        else:
            records = ({k: v for k, v in r.items() if k not in ("attributes", "links")} for r in records)
        prof = d.profile_rows(stream, pattern, itertools.islice(records, d.SAMPLE_ROWS))
        if format_of(paths[0]) == "csv":  # empty CSV cells read as missing, as SuiteQL omits nulls
            for col in prof.columns.values():
                col.distinct = [v for v in col.distinct if v != ""]
        report.profiles[stream] = prof


def _records(records) -> list[dict[str, Any]]:
    if isinstance(records, list):
        return records
    return [
        {k: v for k, v in r.items() if v not in (None, "")}
        for r in records.slice(0, d.SAMPLE_ROWS).to_pylist()
    ]


def defaults(kind: str) -> dict[str, Any]:
    return {s.name: s.default for s in cfgmod.source_settings(kind)}


def draft(report: d.Report, cfg: Mapping[str, Any]) -> str:
    """The draft TOML section: current non-default settings, the proposals with evidence, the value maps."""
    return d.draft_toml(report, cfg, defaults(report.kind))


def lines(report: d.Report) -> list[tuple[str, str, str, str, str]]:
    """(stream, wanted, status, name, evidence) rows of the report, wanted columns first, stream by stream."""
    out = []
    for stream, findings in report.findings.items():
        prof = report.profiles.get(stream)
        if prof is not None and not prof.present:
            out.append((stream, f"({prof.table})", "absent", "", prof.note))
            continue
        for f in findings:
            label = f.wanted.column + (f" [{'.'.join(f.wanted.setting)}]" if f.wanted.setting else "")
            out.append((stream, label, f.status, f.name or "", f.evidence))
    if not report.findings:  # a kind with nothing wanted: what the files hold
        for stream, prof in report.profiles.items():
            if not prof.present:
                out.append((stream, f"({prof.table})", "absent", "", prof.note))
            for col in prof.columns.values():
                out.append((stream, col.name, "found", col.name, d.sample_text(col)))
    return out
