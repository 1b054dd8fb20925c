"""Middleware event log: one event per cross-system hand-off, retries folded into the attempt count."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY
from .ctx import Ctx


def build(ctx: Ctx) -> None:
    """opportunity→CLM, SOW→project, invoice→CRM and payment→CRM events (final state; clean: all success)."""
    rng = ctx.child_rng("events")

    opp = ctx.t["opportunity"].filter(pl.col("_sow").is_not_null())
    e1 = opp.select(
        "correlation_id",
        entity_id=pl.col("opportunity_id"),
        target_entity_id=pl.col("_sow"),
        created_at=pl.col("close_date") * DAY + 12 * 3600,
    ).with_columns(
        source_system=pl.lit("salesforce"),
        target_system=pl.lit("ironclad"),
        entity_type=pl.lit("opportunity"),
        event_type=pl.lit("opportunity.closed_won"),
    )
    p = ctx.t["project"]
    e2 = p.select(
        "correlation_id",
        entity_id=pl.col("sow_id"),
        target_entity_id=pl.col("project_id"),
        created_at=pl.col("created_at") - 600,
    ).with_columns(
        source_system=pl.lit("ironclad"),
        target_system=pl.lit("netsuite"),
        entity_type=pl.lit("sow"),
        event_type=pl.lit("sow.executed"),
    )
    crm = ctx.t["crm_invoice_status"].select(pl.col("_invoice_id").alias("invoice_id"), "crm_record_id")
    inv = ctx.t["invoice"].join(crm, on="invoice_id")
    e3 = inv.select(
        "correlation_id",
        entity_id=pl.col("invoice_id"),
        target_entity_id=pl.col("crm_record_id"),
        created_at=pl.col("posted_at") + 60,
    ).with_columns(
        source_system=pl.lit("netsuite"),
        target_system=pl.lit("salesforce"),
        entity_type=pl.lit("invoice"),
        event_type=pl.lit("invoice.posted"),
    )
    pay = ctx.t["payment"].filter(pl.col("invoice_id").is_not_null()).join(crm, on="invoice_id")
    e4 = pay.select(
        "correlation_id",
        entity_id=pl.col("payment_id"),
        target_entity_id=pl.col("crm_record_id"),
        created_at=pl.col("applied_date") * DAY + 12 * 3600,
    ).with_columns(
        source_system=pl.lit("netsuite"),
        target_system=pl.lit("salesforce"),
        entity_type=pl.lit("payment"),
        event_type=pl.lit("payment.applied"),
    )
    ev = pl.concat([e1, e2, e3, e4]).sort("created_at", "entity_id")
    n = ev.height
    attempt = np.where(rng.random(n) < 0.05, rng.integers(2, 4, n), 1).astype(np.int32)
    took = rng.integers(5, 300, n) + (attempt - 1) * 600
    ev = ev.with_columns(
        event_id=ids.event_ids(n),
        idempotency_key=pl.concat_str(["event_type", "entity_id"], separator=":"),
        status=pl.lit("success"),
        attempt=pl.Series(attempt),
        error_message=pl.lit(None, pl.String),
        processed_at=pl.col("created_at") + pl.Series(took),
    )
    ctx.t["integration_event"] = ev.filter(pl.col("processed_at") < ctx.as_of_ts).with_columns(
        source_id=pl.col("event_id")
    )
