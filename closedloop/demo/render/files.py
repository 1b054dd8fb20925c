"""Middleware event log (JSON lines) and the firm's reference tables (CSV), as the firm exports them."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from closedloop.demo.render._fmt import FirmLike, json_object, json_value, table, write_lines
from collectors.middleware.streams import streams as middleware_streams
from collectors.reference.streams import streams as reference_streams

TS = "%Y-%m-%dT%H:%M:%S%.fZ"


def render_middleware(firm: FirmLike, out: Path) -> dict[str, int]:
    """events.jsonl: one integration event per line, ISO-8601 UTC timestamps with Z, nulls kept."""
    (stream,) = middleware_streams()
    ev = table(firm, "integration_event")
    obj = json_object(
        [(c.name, json_value(pl.col(c.name), c.type, TS)) for c in stream.columns], keep_nulls=True
    )
    return {"events": write_lines(ev, obj, out / "events.jsonl")}


def render_reference(firm: FirmLike, out: Path) -> dict[str, int]:
    """<table>.csv per reference table, canonical columns, ISO dates, true/false."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for stream in reference_streams():
        frame = table(firm, stream.name).select(stream.column_names())
        frame.write_csv(out / (stream.file_pattern or f"{stream.name}.csv"))
        counts[stream.name] = frame.height
    return counts
