"""SAP S/4HANA Cloud (ERP/PSA): company codes, customers, projects, billing plans, timesheets, billing documents,
receivables clearing, purchasing and revenue, over OData v2 (collectors/sap_s4/api.py) or exported files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors.base import Batch, Stream, StreamState
from collectors.files import FilesCollector
from collectors.http.odata_v2 import v2_record
from collectors.sap_s4.api import API_SETTINGS, api_collector
from collectors.sap_s4.streams import CORRELATION, DEFAULT_FIELDS, ENTITY_SETS, field_names, streams

SYSTEM = "ERP"
SETTINGS: list[Setting] = [
    Setting(
        "correlation_field", str, CORRELATION, "Extension field (all entities) holding the correlation ID."
    ),
    Setting(
        "fields",
        dict,
        {},
        "Fields under the tenant's own names: {default name = your name}, see collectors/sap_s4/streams.py.",
    ),
    Setting(
        "entity_sets",
        dict,
        {},
        "Where a stream lives when not at its default: {stream = 'SERVICE/EntitySet'}. Streams:"
        f" {', '.join(ENTITY_SETS)}.",
    ),
]
MAPPING = Path(__file__).with_name("mapping.sql")

SETTINGS += API_SETTINGS  # transport = 'api' (collectors/sap_s4/api.py)

__all__ = [
    "MAPPING",
    "SETTINGS",
    "SYSTEM",
    "api_collector",
    "check_settings",
    "files_collector",
    "mapping_params",
    "streams",
]


def check_settings(cfg: Mapping[str, Any], prefix: str) -> None:
    """Refuse unknown field and stream names, naming the key and what is allowed."""
    for name in cfg.get("fields") or {}:
        if name not in DEFAULT_FIELDS:
            raise ValueError(
                f"unknown key '{prefix}.fields.{name}': not a field of any entity set (see collectors/sap_s4/streams.py)"
            )
    for stream, where in (cfg.get("entity_sets") or {}).items():
        if stream not in ENTITY_SETS:
            raise ValueError(
                f"unknown key '{prefix}.entity_sets.{stream}' (allowed: {', '.join(ENTITY_SETS)})"
            )
        if not isinstance(where, str) or not where.strip("/"):
            raise ValueError(f"key '{prefix}.entity_sets.{stream}': {where!r} is not 'SERVICE/EntitySet'")


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Placeholders of mapping.sql: every field's name in force, keyed by its default name."""
    return field_names(cfg)


class _V2Files(FilesCollector):
    """Exported v2 records (the same JSON the services return): values through the same v2 parsing as HTTP."""

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        types = {c.name: c.type for c in stream.columns}
        for batch in super().read(stream, state):
            if not isinstance(batch.records, list):
                yield batch
                continue
            batch.records = [v2_record(r, types) for r in batch.records]
            yield batch


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads <SERVICE>/<EntitySet>.jsonl: one v2 record per line, as the service returns it."""
    base = _files("sap_s4", cfg, streams(cfg))
    return _V2Files(base.source, base.path, base._streams)
