"""Dataverse discover (both Dynamics kinds): a page of each entity set with every column, labels included.

Each table's key and lookups are fixed by the entity declarations; what differs between environments is the
correlation column's name, the entity set names and the option-set labels, which the value maps draft from.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from collectors._dataverse import FORMATTED, Entity
from collectors._dataverse.api import DataverseAPI
from collectors._valuemaps import domain
from collectors.base import Stream
from collectors.discover import SAMPLE_ROWS, Report, TableProfile, Wanted, kind_of_type, profile_rows
from collectors.http import HttpError, next_link_pages
from collectors.http.odata_v4 import parse_odata_page, prefer


def wanted(
    streams: list[Stream], entities: list[Entity], corr_default: str, corr: str
) -> dict[str, list[Wanted]]:
    """Every declared column; only the correlation column is renamed by a setting."""
    by = {e.stream: e for e in entities}
    out: dict[str, list[Wanted]] = {}
    for s in streams:
        e = by[s.name]
        options = {e.wire(c): domain(f"{e.canon}.{c}") for c in e.columns() if e.is_option(c)}
        out[s.name] = [
            Wanted(
                s.name,
                c.name,
                corr_default if c.name == corr else c.name,
                ("correlation_field",) if c.name == corr else None,
                kind_of_type(c.type),
                options.get(c.name, ()),
            )
            for c in s.columns
        ]
    return out


def value_columns(entities: list[Entity]) -> dict[str, tuple[str, str, None]]:
    """Canonical enumerated column -> (stream, the label annotation it is read from)."""
    return {
        f"{e.canon}.{c}": (e.stream, e.wire(c), None) for e in entities for c in e.columns() if e.is_option(c)
    }


def introspect(report: Report, api: DataverseAPI, streams: list[Stream]) -> None:
    """GET each entity set without $select (every column the environment has), one page of SAMPLE_ROWS."""
    headers = {"Accept": "application/json", "OData-Version": "4.0", "Prefer": prefer(SAMPLE_ROWS)}
    for stream in streams:
        entity_set = api.sets.get(stream.name, stream.name)
        pages = next_link_pages(api.http, f"{api.base}/{entity_set}", headers=headers, parse=parse_odata_page)
        try:
            rows = list(itertools.islice((r for p in pages for r in p.records), SAMPLE_ROWS))
        except HttpError as exc:
            if exc.status != 404:
                raise
            report.profiles[stream.name] = TableProfile(
                stream.name,
                entity_set,
                present=False,
                note=f"no entity set {entity_set!r}: {exc.detail[:200]}",
            )
            continue
        report.profiles[stream.name] = profile_rows(stream.name, entity_set, (_columns(r) for r in rows))


def _columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's columns as the streams name them: attributes, and option-set labels under their annotation (an
    option set's integer value is not read: the label is, so it is no candidate for another column)."""
    return {
        k: v
        for k, v in row.items()
        if not k.startswith("@") and ("@" not in k or k.endswith(FORMATTED)) and k + FORMATTED not in row
    }
