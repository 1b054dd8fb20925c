"""Which setting names a vendor column or table, so a message can say exactly what to set.

A firm's estate names things its own way; when the source lacks a column the collector needs, "set X"
is only helpful if X is the real key in closedloop.toml (e.g. sources.netsuite.custom_fields.custentity_sow_id).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from collectors.base import CollectorError


def config_key(
    kind: str, name: str, cfg: Mapping[str, Any] | None = None, source: str | None = None
) -> str | None:
    """The config key (sources.<source>.<key>[.<sub>]) whose value is this vendor name, None if none is.

    `name` is compared with the names in force for `cfg`, so a renamed field points at the key that renamed it.
    """
    cfg = cfg or {}
    prefix = f"sources.{source or kind}"
    for key in _keys(kind, cfg).get(name, ()):
        return f"{prefix}.{key}"
    return None


def table_key(kind: str, stream: str, source: str | None = None) -> str | None:
    """The setting that chooses the table/object/record type a stream reads."""
    sub = {"netsuite": "tables", "salesforce": "objects", "ironclad": "record_types", "conga": "objects"}.get(
        kind
    )
    return f"sources.{source or kind}.{sub}.{stream}" if sub else None


def _keys(kind: str, cfg: Mapping[str, Any]) -> dict[str, list[str]]:
    """Vendor name in force -> the setting keys naming it (several when two keys share one name)."""
    out: dict[str, list[str]] = {}
    if kind == "salesforce":
        from collectors.salesforce.streams import names

        pairs = list(names(cfg).items())
    elif kind == "conga":
        from collectors.conga.streams import names as conga_names

        pairs = list(conga_names(cfg).items())
    elif kind == "netsuite":
        from collectors.netsuite.streams import CORRELATION, CUSTOM_RECORDS, names

        n = names(cfg)
        pairs = [(k, n[k]) for k in CORRELATION]
        pairs += [(f"custom_records.{k}", n[k]) for k in CUSTOM_RECORDS]
        pairs += [
            (f"custom_fields.{k}", v)
            for k, v in n.items()
            if k not in CORRELATION and k not in CUSTOM_RECORDS
        ]
    elif kind == "ironclad":
        from collectors.ironclad.streams import property_keys, record_types

        props = property_keys(cfg)
        own = {"correlation_id": "correlation_property", "opportunity_id": "opportunity_property"}
        pairs = [(own.get(k, f"properties.{k}"), v) for k, v in props.items()]
        pairs += [(f"record_types.{k}", v) for k, v in record_types(cfg).items()]
    else:
        pairs = []
    for key, value in pairs:
        out.setdefault(value, []).append(key)
    return out


def missing_key_column(
    kind: str,
    source: str,
    stream: str,
    column: str,
    have: Iterable[str],
    cfg: Mapping[str, Any] | None = None,
) -> CollectorError:
    """The error for a required column the source lacks: what to set, and the closest names it does have."""
    have = sorted(set(have))
    close = difflib.get_close_matches(column, have, n=3, cutoff=0.5)
    key = config_key(kind, column, cfg, source)
    if key:
        fix = f"set {key} to the source's name for it"
    else:
        where = table_key(kind, stream, source)
        fix = f"check {where}: the stream may read the wrong table" if where else "check the export"
    hint = f"; closest names the source has: {', '.join(close)}" if close else ""
    return CollectorError(
        f"required column {column!r} is not in the source ({fix}){hint}", source=source, stream=stream
    )


def duplicate_columns(
    kind: str, stream: str, specs: Iterable[tuple[str, str]], cfg: Mapping[str, Any] | None = None
) -> None:
    """Refuse one vendor name declared twice with different types in a stream, naming both settings.

    The same name with the same type is the same field asked for twice (e.g. inv_number_field = "Name"):
    the caller declares it once and the mapping selects it under both roles.
    """
    seen: dict[str, str] = {}
    for name, typ in specs:
        if name in seen and seen[name] != typ:
            keys = [f"sources.{kind}.{k}" for k in _keys(kind, cfg or {}).get(name, [])]
            if len(keys) < 2:  # a setting collides with a column the stream always reads
                keys.append(f"the stream's own column {name!r}")
            who = " and ".join(keys)
            raise ValueError(
                f"stream {stream!r}: {who} both name {name!r}, as {seen[name]} and {typ};"
                f" give each its own field"
            )
        seen.setdefault(name, typ)


def explicitly_set(
    kind: str, name: str, cfg: Mapping[str, Any] | None, source: str | None = None
) -> str | None:
    """The config key naming `name` when the config sets it away from the product's default, else None.

    A default name the estate lacks is an absence the product tolerates (coverage says what it costs); a name
    someone typed into closedloop.toml that the source does not have is a mistake to stop on.
    """
    if not cfg:
        return None
    defaults = _keys(kind, {})
    for key in _keys(kind, cfg).get(name, ()):
        if key not in defaults.get(name, ()):
            return f"sources.{source or kind}.{key}"
    return None


def mismatches(
    kind: str,
    source: str,
    cfg: Mapping[str, Any],
    results: Iterable[Any],
    have: Mapping[str, Iterable[str]],
) -> list[tuple[Any, str]]:
    """(stream result, message) for each configured name the collection proved the source lacks: a stream
    absent whose table/object/record type the config names, or a field the config names that it refused.
    have[stream]: the names the source did return for it (the closest are offered)."""
    out = []
    for sr in results:
        if sr.status == "absent":
            for name in _stream_names(kind, sr.stream, cfg):
                key = explicitly_set(kind, name, cfg, source)
                if key:
                    out.append(
                        (
                            sr,
                            f"{key} = {name!r}: {kind} has no such table/object ({sr.absent_reason}); run"
                            f" `closedloop discover {source}` to list what it has",
                        )
                    )
            continue
        for name in sr.absent_fields:
            if any(name in names for names in have.values()):
                continue  # one custom field applied to some record types only: it is there, where it applies
            key = explicitly_set(kind, name, cfg, source)
            if key:
                close = difflib.get_close_matches(name, sorted(have.get(sr.stream, ())), n=3, cutoff=0.5)
                hint = f"closest names it has: {', '.join(close)}; " if close else ""
                out.append(
                    (
                        sr,
                        f"{key} = {name!r}: {kind} {sr.stream} has no field {name!r} ({hint}run"
                        f" `closedloop discover {source}` to list what it has)",
                    )
                )
    return out


def _stream_names(kind: str, stream: str, cfg: Mapping[str, Any]) -> list[str]:
    """The table/object/record-type names in force for a stream (the names a config can set for it)."""
    if kind == "netsuite":
        from collectors.netsuite.streams import names

        return [names(cfg)[stream]] if stream in cfg.get("custom_records", {}) else []
    if kind == "ironclad":
        from collectors.ironclad.streams import record_types

        return [record_types(cfg)[stream]] if stream in record_types(cfg) else []
    if kind == "salesforce" and stream == "invoice_status":
        from collectors.salesforce.streams import names

        return [names(cfg)["invoice_status_object"]]
    return []
