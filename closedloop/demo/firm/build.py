"""Orchestration: the clean firm first, then defects, then the answer key and KPI truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from . import cash, commercial, integration, invoicing, kpis, master, pricing, revenue, schedules, work
from .ctx import Ctx
from .defects import evaluate_all, inject_all, plan_all
from .params import CHECK_PARAMS, DEFAULT_AS_OF, REPORTING_CCY, TIER_PEOPLE
from .schema import canon_schema, conform_taking


@dataclass
class Firm:
    """The generated truth: canonical tables, the answer key of injected defects, KPI truth and parameters."""

    tables: dict[str, pl.DataFrame]
    answer_key: pl.DataFrame
    kpi_truth: dict
    params: dict = field(default_factory=dict)


def generate_firm(
    tier: str = "s",
    seed: int = 0,
    people: int | None = None,
    as_of: date = DEFAULT_AS_OF,
    defects: bool = True,
    defect_scale: float = 1.0,
) -> Firm:
    """Build a deterministic demo firm; same (tier, seed, people, as_of, defect switches) ⇒ identical frames."""
    if tier not in TIER_PEOPLE:
        raise ValueError(f"tier must be one of {sorted(TIER_PEOPLE)}, got {tier!r}")
    scale = defect_scale if defects else 0.0
    ctx = Ctx(
        tier=tier,
        seed=seed,
        people=people or TIER_PEOPLE[tier],
        as_of=as_of,
        defect_scale=scale,
        rng=np.random.Generator(np.random.PCG64(seed)),
    )
    master.build(ctx)
    commercial.plan_sows(ctx)
    commercial.plan_amendments(ctx)
    ctx.t["sow"] = ctx.t["sow"].with_columns(_lead=pl.col("_lead_raw").clip(upper_bound=5))
    plan_all(ctx)
    work.projects(ctx)
    work.staff_and_simulate(ctx)
    pricing.price(ctx)
    pricing.milestones(ctx)
    pricing.cut_time(ctx)
    commercial.opportunities(ctx)
    schedules.propagation(ctx)
    schedules.billing_schedules(ctx)
    schedules.expenses(ctx)
    schedules.subcontracts(ctx)
    invoicing.invoices(ctx)
    cash.credit_and_rebill(ctx)
    cash.payments(ctx)
    cash.crm_status(ctx)
    cash.collections(ctx)
    revenue.build(ctx)
    # no later step reads an entry's priced value: one 8-byte column per entry less from here on
    ctx.t["time_entry"] = ctx.t["time_entry"].drop("_value")
    integration.build(ctx)
    inject_all(ctx)
    key = evaluate_all(ctx)
    truth = kpis.compute(ctx)
    ctx.t["time_entry"] = ctx.t["time_entry"].with_columns(source_id=pl.col("time_entry_id"))
    tables = {name: conform_taking(name, ctx.t) for name in canon_schema()}
    params = dict(
        tier=tier,
        seed=seed,
        people=ctx.people,
        as_of=as_of.isoformat(),
        reporting_currency=REPORTING_CCY,
        defects=defects,
        defect_scale=scale,
        check_params=CHECK_PARAMS,
        notes=ctx.notes.get("public", {}),
    )
    return Firm(tables=tables, answer_key=key, kpi_truth=truth, params=params)
