"""Contract → project → billing setup: Q2C-010 (SOW without project after SLA), Q2C-020 (no billing schedule).

Q2C-010 — injected through K01 itself: project creation lead time lognormal(median 3 bd, σ 0.9) and 0.5 % never
(×defect_scale); a SOW fails when it is executed, bd_diff(signed_date, as_of) > 5 and no non-cancelled project exists.
impact_rc = rc(eff_value, currency, signed_date); expected_loss_rc (cost of the delay) = ROUND(impact_rc × (age_bd − 5)
× 1.4 × coc / 365, 2), coc = 0.09; entity sow.

Q2C-020 — FF/RETAINER projects created > 5 bd ago (status active) whose billing schedule was never set up (no
billing_schedule rows; we only pick projects with no invoice and no revenue yet, so nothing else trips).
impact_rc = rc(eff_value, currency, created_at::DATE); expected_loss_rc = ROUND(impact_rc × (bd_diff(created_at::DATE,
as_of) − 5) × 1.4 × coc / 365, 2); entity project. (T&M projects without contract rates are not injected: they
would be Q2C-023 too.)
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from ..calc import DAY
from ..ctx import Ctx
from .base import COC, bd_age, key, pick, rc, sow_effective

SLA = 5


def plan(ctx: Ctx) -> None:
    """Lognormal lead times (K01) for a defect_scale share of SOWs, plus 0.5 % never set up."""
    rng = ctx.child_rng("plan-010")
    s = ctx.t["sow"]
    u = rng.random(s.height)
    raw = s["_lead_raw"].to_numpy()
    lead = np.where(u < ctx.defect_scale, raw, np.minimum(raw, SLA))
    never = rng.random(s.height) < 0.005 * ctx.defect_scale
    ctx.t["sow"] = s.with_columns(_lead=pl.Series(np.where(never, 10**6, lead)))


def inject(ctx: Ctx) -> None:
    """Remove the billing schedule of a few recent FF/RETAINER projects with nothing billed or recognised yet."""
    p = ctx.t["project"]
    billed = ctx.t["invoice"]["project_id"].unique().implode()
    rev = ctx.t["revenue_schedule"]["project_id"].unique().implode()
    created = (p["created_at"] // DAY).to_numpy()
    cand = p.filter(
        pl.col("billing_type").is_in(["FF", "RETAINER"])
        & (pl.col("status") == "active")
        & pl.Series(bd_age(ctx, created) > SLA)
        & ~pl.col("project_id").is_in(billed)
        & ~pl.col("project_id").is_in(rev)
    )
    chosen = pick(ctx, cand, "Q2C-020", p=min(1.0, 0.5 * ctx.defect_scale))
    ctx.t["billing_schedule"] = ctx.t["billing_schedule"].filter(
        ~pl.col("project_id").is_in(chosen["project_id"].implode())
    )


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Q2C-010 and Q2C-020 rows."""
    se = sow_effective(ctx)
    coc = COC
    has_proj = ctx.t["project"].filter(pl.col("status") != "cancelled")["sow_id"].unique().implode()
    s = se.filter((pl.col("status") == "executed") & ~pl.col("sow_id").is_in(has_proj))
    age = bd_age(ctx, s["signed_date"].to_numpy())
    rows = []
    for r, a in zip(s.iter_rows(named=True), age, strict=True):
        if a > SLA:
            base = rc(ctx, r["eff_value"], r["currency"], r["signed_date"])
            cost = base * (int(a) - SLA) * Decimal("1.4") * coc / 365
            rows.append((r["sow_id"], r["correlation_id"], base, f"age_bd={a}", cost))
    out = [key("Q2C-010", "sow", rows)]
    p = (
        ctx.t["project"]
        .filter(pl.col("status") == "active")
        .join(se.select("sow_id", "eff_value"), on="sow_id")
    )
    sched = ctx.t["billing_schedule"]["project_id"].unique().implode()
    p = p.filter(
        pl.col("billing_type").is_in(["FF", "MILESTONE", "RETAINER", "MANAGED_SERVICE"])
        & ~pl.col("project_id").is_in(sched)
    )
    age = bd_age(ctx, (p["created_at"] // DAY).to_numpy())
    rows = []
    for r, a in zip(p.iter_rows(named=True), age, strict=True):
        if a > SLA:
            base = rc(ctx, r["eff_value"], r["currency"], r["created_at"] // DAY)  # fx on the created date
            cost = base * (int(a) - SLA) * Decimal("1.4") * coc / 365
            rows.append(
                (
                    r["project_id"],
                    r["correlation_id"],
                    base,
                    f"billing_type={r['billing_type']} age_bd={a}",
                    cost,
                )
            )
    out.append(key("Q2C-020", "project", rows))
    return pl.concat(out)
