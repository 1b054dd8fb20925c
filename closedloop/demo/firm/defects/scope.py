"""Un-contracted scope growth: Q2C-064.

Injection (§D.2 #25): 20 % of FF projects with ≥ 40 booked hours and no change order pending (draft / in_review)
or executed in the last 60 days get a budget that scope growth has outrun: budget_hours = hours booked so far ÷
(1 + overrun), overrun ~ lognormal(median 18 %) clipped to [12 %, 100 %] (the PSA plan was never re-based).
Evaluation, the card's condition on the final tables: FF / MILESTONE / TM_CAP project, budget_hours > 0, Σ hours >
budget_hours × 1.10 and no such change order. impact_rc = round((hours − budget_hours) × avg_rate × fx(project ccy,
as_of), 2) in double precision (as the SQL does), avg_rate = hours-weighted time_entry.cost_rate (FF, MILESTONE)
or contract bill rate (TM_CAP); entity project.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..ctx import Ctx
from ..frames import by_slices
from ..params import CHECK_PARAMS
from .base import key, pick

OVERRUN = CHECK_PARAMS["overrun_pct"]
RECENT_CO_DAYS = 60


def _no_recent_co(ctx: Ctx) -> pl.Expr:
    """Projects whose SOW has no change order pending or executed within RECENT_CO_DAYS of as_of."""
    am = ctx.t["amendment"]
    busy = am.filter(
        pl.col("status").is_in(["draft", "in_review"])
        | ((pl.col("status") == "executed") & (ctx.A - pl.col("signed_date") <= RECENT_CO_DAYS))
    )["sow_id"]
    return ~pl.col("sow_id").is_in(busy.implode())


def _hours(ctx: Ctx, sliced: bool = False) -> pl.DataFrame:
    """Per project: Σ hours, Σ hours × cost rate, Σ hours × contract rate (hundredths × cents).

    sliced sums slices of the entries and then the slice sums (the same integers, less memory) but yields the
    projects in another order: only for callers that do not depend on it (the injection's pick does).
    """

    def sums(te: pl.DataFrame) -> pl.DataFrame:
        return te.group_by("project_id").agg(
            pl.col("hours").sum().alias("_h"),
            (pl.col("hours") * pl.col("cost_rate")).sum().alias("_hc"),
            pl.col("hours").filter(pl.col("cost_rate").is_not_null()).sum().alias("_hcn"),
            (pl.col("hours") * pl.col("_rate")).sum().alias("_hb"),
            pl.col("hours").filter(pl.col("_rate").is_not_null()).sum().alias("_hbn"),
        )

    te = ctx.t["time_entry"].select("project_id", "hours", "cost_rate", "_rate")
    if not sliced:
        return sums(te)
    return by_slices(te, sums).group_by("project_id").agg(pl.col("_h", "_hc", "_hcn", "_hb", "_hbn").sum())


def inject(ctx: Ctx) -> None:
    """Shrink the plan of some FF projects below the hours already booked."""
    rng = ctx.child_rng("inject-064")
    p = ctx.t["project"].join(_hours(ctx), on="project_id")
    el = p.filter((pl.col("billing_type") == "FF") & (pl.col("_h") >= 4_000) & _no_recent_co(ctx))
    a = pick(ctx, el, "Q2C-064")
    o = np.clip(rng.lognormal(np.log(0.18), 0.4, a.height), 0.12, 1.0)
    bh = np.floor(a["_h"].to_numpy() / 100 / (1 + o) * 10) / 10
    m = dict(zip(a["project_id"].to_list(), bh.tolist(), strict=True))
    ctx.t["project"] = ctx.t["project"].with_columns(
        budget_hours=pl.col("project_id").replace_strict(
            m, default=pl.col("budget_hours"), return_dtype=pl.Float64
        )
    )


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Q2C-064 rows: the card's overrun condition on the final tables."""
    p = ctx.t["project"].join(_hours(ctx, sliced=True), on="project_id")
    p = p.filter(
        pl.col("billing_type").is_in(["FF", "MILESTONE", "TM_CAP"])
        & (pl.col("budget_hours") > 0)
        & _no_recent_co(ctx)
        & (pl.col("_h") / 100 > pl.col("budget_hours") * (1 + OVERRUN))
    )
    tm = p["billing_type"].to_numpy() == "TM_CAP"
    num = np.where(tm, p["_hb"].to_numpy(), p["_hc"].to_numpy()).astype(np.float64) / 10_000
    den = np.where(tm, p["_hbn"].to_numpy(), p["_hcn"].to_numpy()).astype(np.float64) / 100
    avg = num / den
    fx = ctx.fx.rate_e8(p["currency"], np.full(p.height, ctx.A)).astype(np.float64) / 1e8
    raw = (p["_h"].to_numpy() / 100 - p["budget_hours"].to_numpy()) * avg * fx
    imp = np.sign(raw) * np.floor(np.abs(raw) * 100 + 0.5) / 100
    rows = [
        (pid, cid, f"{v:.2f}", f"budget_hours={b} hours={h / 100}")
        for pid, cid, v, b, h in zip(
            p["project_id"], p["correlation_id"], imp, p["budget_hours"], p["_h"], strict=True
        )
    ]
    return key("Q2C-064", "project", rows)
