"""The firm as an estate's modeling variants hold it: which records exist where, before any renderer runs.

A variant setting in a source's config (the same key the customer writes in closedloop.toml) can move records
between systems. The canonical truth stays the firm's; this view only changes where the renderers find it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from closedloop.demo.render._fmt import FirmLike, synthetic_ids, table


@dataclass
class EstateFirm:
    """A firm's tables as one estate holds them (FirmLike for the renderers)."""

    tables: dict[str, pl.DataFrame]
    params: dict[str, Any]
    # milestone_acceptance = 'project_task': each PSA milestone's acceptance, written on its project task
    milestone_acceptance: pl.DataFrame | None = None


def estate_firm(firm: FirmLike, config: Mapping[str, Mapping[str, Any]]) -> FirmLike:
    """The firm unchanged, or the view of it the configured variants call for."""
    ns = config.get("netsuite") or {}
    clm = (ns.get("milestone_schedules") or "erp") == "clm_milestones"
    on_task = (ns.get("milestone_acceptance") or "milestone_record") == "project_task"
    if not (clm or on_task):
        return firm
    estate = EstateFirm(tables=dict(firm.tables), params=getattr(firm, "params", {}))
    if clm:
        _clm_milestones(firm, estate.tables)
    if on_task:
        estate.milestone_acceptance = _acceptance_on_tasks(estate.tables)
    return estate


def _clm_milestones(firm: FirmLike, tables: dict[str, pl.DataFrame]) -> None:
    """The milestones live in the CLM, and the ERP keeps no schedule lines for them: the plan is the schedule."""
    tables["milestone"] = table(firm, "milestone").with_columns(source_system=pl.lit("ironclad"))
    tables["billing_schedule"] = table(firm, "billing_schedule").filter(
        pl.col("milestone_id").is_null() & (pl.col("line_type").fill_null("") != "milestone")
    )


ACCEPTANCE = ("status", "completed_date", "accepted_date")


def _acceptance_on_tasks(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Every PSA milestone of a project gets its milestone task, which holds its acceptance; the record keeps
    the plan only. Returns the acceptance by milestone, for the project-task renderer."""
    firm = EstateFirm(tables=tables, params={})
    ms = table(firm, "milestone")
    # the record holds no acceptance at all; a milestone without a project has no task to hold it
    psa = ms["source_system"].fill_null("") == "netsuite"
    tables["milestone"] = ms.with_columns(
        *(pl.when(psa).then(pl.lit(None, ms[c].dtype)).otherwise(pl.col(c)).alias(c) for c in ACCEPTANCE)
    )
    psa = psa & ms["project_id"].is_not_null()
    acc = ms.filter(psa).select("milestone_id", *(pl.col(c).alias(f"_acc_{c}") for c in ACCEPTANCE))
    tasks = table(firm, "task")
    new = (
        ms.filter(psa)
        .select(
            task_id=synthetic_ids(9_400_000_000, ["milestone_id"]),
            project_id=pl.col("project_id"),
            name=pl.col("name"),
            billable=pl.lit(False),
            milestone_id=pl.col("milestone_id"),
            source_system=pl.lit("netsuite"),
            correlation_id=pl.col("correlation_id"),
        )
        .with_columns(source_id=pl.col("task_id"))
    )
    tables["task"] = pl.concat([tasks, new], how="diagonal_relaxed")
    return acc


def with_acceptance(firm: FirmLike, tasks: pl.DataFrame) -> pl.DataFrame:
    """Project tasks with their milestone's acceptance columns (_acc_*) when the estate keeps it on tasks."""
    acc = getattr(firm, "milestone_acceptance", None)
    return tasks if acc is None else tasks.join(acc, on="milestone_id", how="left")


def acceptance_values(n: Mapping[str, str], declared: list[str]) -> dict[str, pl.Expr]:
    """The projecttask fields holding acceptance, when this account declares them (milestone_acceptance)."""
    fields = {
        "custevent_milestone_status": "_acc_status",
        "custevent_completed_date": "_acc_completed_date",
        "custevent_accepted_date": "_acc_accepted_date",
    }
    return {n[f]: pl.col(col) for f, col in fields.items() if n.get(f) in declared}


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
