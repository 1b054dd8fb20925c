"""Render a firm the way its vendors export it: out_dir/<source>/... files the collectors read back."""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.demo.config import DEFAULT_SYSTEMS
from closedloop.demo.render import (
    files,
    ironclad,
    netsuite,
    netsuite_charges,
    netsuite_txn,
    salesforce,
    vendor_values,
)
from closedloop.demo.render._fmt import FirmLike
from closedloop.demo.render.variants import estate_firm
from collectors.netsuite.keys import ENTITY_ID

SOURCES = (*DEFAULT_SYSTEMS, "middleware", "reference")


def render_exports(
    firm: FirmLike,
    out_dir: Path,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    systems: tuple[str, ...] = DEFAULT_SYSTEMS,
) -> dict:
    """Write every source's exports; config[source] is that source's config section (the same section the
    firm's closedloop.toml holds), honoured as a firm's org would hold it: renamed custom fields, properties
    and tables, keys and links, modeling variants, and its own picklist values (`values`).

    `systems` are the estate's vendor sources; a kind other than the three built in here is rendered by its own
    module, closedloop/demo/render/<kind>.py: `render(firm, out_dir / kind, cfg, config) -> {stream: rows}`.

    Returns {source: {stream: rows}, "seconds": {source: s}}.
    """
    out_dir, config = Path(out_dir), config or {}
    firm = estate_firm(firm, config)  # where the configured modeling variants keep the firm's records
    result: dict[str, Any] = {"seconds": {}}
    for source in (*systems, "middleware", "reference"):
        t0 = time.perf_counter()
        target, cfg = out_dir / source, config.get(source) or {}
        target.mkdir(parents=True, exist_ok=True)
        if source == "salesforce":
            counts = salesforce.render(firm, target, cfg)
        elif source == "ironclad":
            # a firm whose ERP keys projects by entity id (project_key) has its CLM milestones carry that id
            erp = config.get("netsuite") or {}
            ids = netsuite.project_entityids(firm) if erp.get("project_key") == ENTITY_ID else None
            counts = ironclad.render(firm, target, cfg, project_ids=ids)
        elif source == "netsuite":
            ctx = netsuite.context(firm, target, cfg)
            counts = (
                netsuite.render_masters(ctx) | netsuite.render_projects(ctx) | netsuite_txn.render_bulk(ctx)
            )
            counts |= {"transaction": netsuite_txn.render_transactions(ctx)}
            counts |= netsuite_txn.render_revenue(ctx) | netsuite_txn.render_custom_records(ctx)
            if "charge" in ctx.streams:  # billing_schedules = 'charges'
                counts |= netsuite_charges.render_charges(ctx)
        elif source == "middleware":
            counts = files.render_middleware(firm, target)
        elif source == "reference":
            counts = files.render_reference(firm, target)
        else:
            counts = importlib.import_module(f"closedloop.demo.render.{source}").render(
                firm, target, cfg, config
            )
        vendor_values.rewrite(source, target, cfg)
        result[source] = counts
        result["seconds"][source] = round(time.perf_counter() - t0, 3)
    return result
