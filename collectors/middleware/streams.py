"""Middleware streams as data: the integration platform's event log, one JSON object per event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._source import cols
from collectors.base import Stream

EVENT_COLUMNS = cols(
    "event_id",
    "correlation_id",
    "idempotency_key",
    "source_system",
    "target_system",
    "entity_type",
    "entity_id",
    "target_entity_id",
    "event_type",
    "status",
    "attempt:BIGINT",
    "error_message",
    "created_at:TIMESTAMPTZ",
    "processed_at:TIMESTAMPTZ",
    required=("event_id",),
)


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """events: the log export (events*.jsonl, so rotated files are read together)."""
    pattern = (cfg or {}).get("events_pattern") or "events*.jsonl"
    return [
        Stream(
            "events",
            EVENT_COLUMNS,
            primary_key=("event_id",),
            cursor_field="created_at",
            file_pattern=pattern,
        )
    ]
