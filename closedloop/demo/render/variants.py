"""The firm as an estate's modeling variants hold it: which records exist where, before any renderer runs.

A variant setting in a source's config (the same key the customer writes in closedloop.toml) can move records
between systems. The canonical truth stays the firm's; this view only changes where the renderers find it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from closedloop.demo.render._fmt import FirmLike, table


@dataclass
class EstateFirm:
    """A firm's tables as one estate holds them (FirmLike for the renderers)."""

    tables: dict[str, pl.DataFrame]
    params: dict[str, Any]


def estate_firm(firm: FirmLike, config: Mapping[str, Mapping[str, Any]]) -> FirmLike:
    """The firm unchanged, or the view of it the configured variants call for."""
    ns = config.get("netsuite") or {}
    if (ns.get("milestone_schedules") or "erp") != "clm_milestones":
        return firm
    tables = dict(firm.tables)
    # the milestones live in the CLM, and the ERP keeps no schedule lines for them: the CLM's plan is the schedule
    tables["milestone"] = table(firm, "milestone").with_columns(source_system=pl.lit("ironclad"))
    tables["billing_schedule"] = table(firm, "billing_schedule").filter(
        pl.col("milestone_id").is_null() & (pl.col("line_type").fill_null("") != "milestone")
    )
    # the freshness the firm expects of its milestones is the CLM's now (Q2C-105 watches the table where they live)
    fs = table(firm, "freshness_sla")
    moved = (pl.col("table_name") == "milestone") & (pl.col("source_system") == "netsuite")
    tables["freshness_sla"] = fs.with_columns(
        source_system=pl.when(moved).then(pl.lit("ironclad")).otherwise(pl.col("source_system"))
    ).unique(["source_system", "table_name"], keep="first", maintain_order=True)
    return EstateFirm(tables=tables, params=getattr(firm, "params", {}))


def milestone_plan(firm: FirmLike) -> pl.DataFrame:
    """The billing schedule a CLM milestone plan is (milestone_schedules = 'clm_milestones'), as the mapping
    derives it: one line per non-cancelled milestone of a project, its amount on its due date, the project's
    currency, keyed by the milestone."""
    p = table(firm, "project").select("project_id", pl.col("currency").alias("_ccy")).unique("project_id")
    m = table(firm, "milestone").filter(pl.col("status").fill_null("") != "cancelled")
    m = m.join(p, on="project_id", how="inner")
    return m.select(
        schedule_line_id=pl.col("milestone_id"),
        project_id=pl.col("project_id"),
        sow_id=pl.col("sow_id"),
        bill_date=pl.col("due_date"),
        amount=pl.col("amount"),
        currency=pl.col("_ccy"),
        milestone_id=pl.col("milestone_id"),
        line_type=pl.lit("milestone"),
        updated_at=pl.lit(None, pl.Datetime("us", "UTC")),
        source_system=pl.lit("ironclad"),
        source_id=pl.col("milestone_id"),
        correlation_id=pl.col("correlation_id"),
    )
