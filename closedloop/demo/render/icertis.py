"""Icertis exports: one CSV per contract type, as the tenant's scheduled export writes it (attributes as headers);
the sandbox serves the same rows as JSON over its REST API."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._clm import clm_frames, mapped, opaque_ids
from closedloop.demo.render._fmt import FirmLike, as_of_ts, modstamp
from collectors.icertis.streams import FIELDS, STREAM_FIELDS, contract_types, field_names

TS = "%Y-%m-%dT%H:%M:%SZ"
STREAM_TABLE = {
    "msa": "contract",
    "sow": "sow",
    "amendment": "amendment",
    "rate_card": "rate_card",
    "milestone": "milestone",
}
# logical field -> canonical column, where the names differ (per stream)
SOURCES: dict[str, dict[str, str]] = {
    "msa": {"agreement_code": "contract_id", "legal_entity": "_le_name"},
    "sow": {"agreement_code": "sow_id", "parent_code": "contract_id", "legal_entity": "_le_name"},
    "amendment": {"agreement_code": "amendment_id", "parent_code": "sow_id"},
    "rate_card": {},
    "milestone": {},
}
STAMPS = {
    "msa": ("signed_date", "effective_date"),
    "sow": ("signed_date", "start_date"),
    "amendment": ("signed_date", "effective_date"),
    "rate_card": ("valid_from",),
    "milestone": ("completed_date", "accepted_date"),
}


def _text(e: pl.Expr, raw_type: str) -> pl.Expr:
    """A value as the export writes it: ISO dates, UTC timestamps, plain decimals, true/false."""
    if raw_type == "DATE":
        return e.cast(pl.Date).dt.strftime("%Y-%m-%d")
    if raw_type == "TIMESTAMPTZ":
        return e.dt.strftime(TS)
    if raw_type == "BOOLEAN":
        return pl.when(e).then(pl.lit("true")).when(e.not_()).then(pl.lit("false"))
    return e.cast(pl.String)


def render(
    firm: FirmLike, out: Path, cfg: Mapping[str, Any] | None = None, config: Mapping | None = None
) -> dict[str, int]:
    """Write <contract type>.csv per stream under out/."""
    cfg = cfg or {}
    names, types, now = field_names(cfg), contract_types(cfg), as_of_ts(firm)
    frames = clm_frames(firm)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for stream, logicals in STREAM_FIELDS.items():
        df = frames[STREAM_TABLE[stream]]
        id_col = f"{STREAM_TABLE[stream]}_id"
        if stream == "rate_card":  # a rate card line is its own record: the line id is its system id
            sys_id = pl.coalesce("source_id", "rate_card_id")
        else:
            sys_id = mapped(id_col, opaque_ids("icertis", stream, df[id_col]))
        df = df.with_columns(_sysid=sys_id, _modified=modstamp(now, *STAMPS[stream]))
        exprs = []
        for logical in dict.fromkeys(logicals):
            source = {"id": "_sysid", "modified": "_modified"}.get(logical) or SOURCES[stream].get(
                logical, logical
            )
            col = pl.col(source) if source in df.columns else pl.lit(None, pl.String)
            exprs.append(_text(col, FIELDS[logical][1]).alias(names[logical]))
        table = df.select(exprs)
        table.write_csv(out / f"{types[stream]}.csv")
        counts[stream] = table.height
    return counts
