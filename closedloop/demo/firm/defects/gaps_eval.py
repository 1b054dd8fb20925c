"""Answer key for defects/gaps.py: Q2C-011, 013, 021, 034 evaluated on the final tables (see gaps.py)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from ..ctx import Ctx
from .base import key, rc, sow_effective
from .delivery import _time_rate

LIVE = ~pl.col("status").is_in(["draft", "cancelled"])


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 011, 013, 021, 034."""
    se = sow_effective(ctx)
    return pl.concat([_011(ctx), _013(ctx), _021(ctx, se), _034(ctx, se)])


def _standard(ctx: Ctx, te: pl.DataFrame) -> pl.DataFrame:
    """chk.standard_rate: the role's STANDARD card on the work date, project currency first (_pccy)."""
    std = ctx.t["rate_card"].filter(pl.col("scope") == "STANDARD")
    j = (
        te.select("time_entry_id", "role", "work_date", "_pccy")
        .join(
            std.select("role", "currency", "bill_rate", "valid_from", "valid_to", "rate_card_id"), on="role"
        )
        .filter((pl.col("work_date") >= pl.col("valid_from")) & (pl.col("work_date") <= pl.col("valid_to")))
        .with_columns(_pref=(pl.col("currency") != pl.col("_pccy")).fill_null(True).cast(pl.Int8))
        .sort(["_pref", "valid_from", "rate_card_id", "currency"], descending=[False, True, False, False])
        .group_by("time_entry_id", maintain_order=True)
        .first()
        .select("time_entry_id", pl.col("currency").alias("_sccy"), pl.col("bill_rate").alias("_std"))
    )
    return te.join(j, on="time_entry_id", how="left")


def _per_entry_rc(ctx: Ctx, df: pl.DataFrame, rate: str, ccy: str) -> pl.DataFrame:
    has = df.filter(pl.col(rate).is_not_null())
    v = ctx.fx.rc_units((has["hours"] * has[rate]).to_numpy(), 4, has[ccy], np.full(has.height, ctx.A))
    return pl.concat(
        [
            has.with_columns(_v=pl.Series(v, dtype=pl.Int64)),
            df.filter(pl.col(rate).is_null()).with_columns(_v=pl.lit(0, pl.Int64)),
        ]
    )


def _011(ctx: Ctx) -> pl.DataFrame:
    ok = ctx.t["sow"].filter(pl.col("status").is_in(["executed", "completed"]))["sow_id"].implode()
    p = ctx.t["project"].filter(
        (pl.col("status") == "active") & (pl.col("sow_id").is_null() | ~pl.col("sow_id").is_in(ok))
    )
    te = (
        ctx.t["time_entry"]
        .select("time_entry_id", "project_id", "role", "work_date", "hours", "billable")
        # the join below keeps these projects only; filtering first spares a copy of every billable entry
        .filter(pl.col("billable") & pl.col("project_id").is_in(p["project_id"].implode()))
        .join(
            p.select(
                "project_id", pl.col("currency").alias("_pccy"), pl.col("correlation_id").alias("_pcid")
            ),
            on="project_id",
        )
    )
    te = _per_entry_rc(ctx, _standard(ctx, te), "_std", "_sccy")
    g = te.group_by("project_id").agg(pl.col("_v").sum(), pl.first("_pcid")).sort("project_id")
    return key(
        "Q2C-011",
        "project",
        [(r["project_id"], r["_pcid"], Decimal(int(r["_v"])) / 100, "") for r in g.iter_rows(named=True)],
    )


def _013(ctx: Ctx) -> pl.DataFrame:
    p = ctx.t["project"]
    by_sow = (
        p.filter(
            pl.col("sow_id").is_not_null()
            & (pl.col("status").fill_null("") != "cancelled")
            & (pl.col("project_role").fill_null("primary") == "primary")
        )
        .sort("created_at", "project_id")
        .with_columns(_rn=pl.int_range(pl.len()).over("sow_id"))
        .filter(pl.col("_rn") > 0)
    )
    by_src = (
        p.filter(pl.col("source_id").is_not_null())
        .sort("created_at", "project_id")
        .with_columns(_rn=pl.int_range(pl.len()).over("source_system", "source_id"))
        .filter(pl.col("_rn") > 0)
    )
    dup = pl.concat(
        [by_sow.select("project_id", "correlation_id"), by_src.select("project_id", "correlation_id")]
    ).unique()
    inv = ctx.t["invoice"].filter(LIVE)
    signed = (
        pl.when(pl.col("type") == "credit_note").then(-pl.col("amount_net").abs()).otherwise("amount_net")
    )
    inv = inv.with_columns(_a=signed)
    v = ctx.fx.rc_units(inv["_a"].to_numpy(), 2, inv["currency"], inv["invoice_date"].to_numpy())
    billed = inv.with_columns(_v=pl.Series(v)).group_by("project_id").agg(pl.col("_v").sum())
    d = dup.join(billed, on="project_id", how="left").sort("project_id")
    return key(
        "Q2C-013",
        "project",
        [
            (r["project_id"], r["correlation_id"], Decimal(int(r["_v"] or 0)) / 100, "")
            for r in d.iter_rows(named=True)
        ],
    )


def _021(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    sched = ctx.t["billing_schedule"].group_by("sow_id", "currency").agg(pl.col("amount").sum().alias("_s"))
    j = se.filter(pl.col("billing_type").is_in(["FF", "MILESTONE", "RETAINER", "MANAGED_SERVICE"])).join(
        sched, on=["sow_id", "currency"]
    )
    rows = []
    for r in j.sort("sow_id").iter_rows(named=True):
        diff, eff = abs(r["_s"] - r["eff_value"]), r["eff_value"]
        stale = eff != r["value"] and abs(r["_s"] - r["value"]) <= 1
        if diff > max(100, 0.001 * eff) and not stale:
            rows.append(
                (r["sow_id"], r["correlation_id"], rc(ctx, diff, r["currency"], r["signed_date"]), "")
            )
    return key("Q2C-021", "sow", rows)


def _034(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    tm = ctx.t["project"].filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]))
    tasks = (
        ctx.t["task"].filter(pl.col("billable")).select("task_id", pl.col("correlation_id").alias("_tcid"))
    )
    te = (
        ctx.t["time_entry"]
        .select("time_entry_id", "task_id", "project_id", "role", "work_date", "hours", "billable")
        .filter(~pl.col("billable"))
        .join(tasks, on="task_id")
        .join(tm.select("project_id", "sow_id", pl.col("correlation_id").alias("_pcid")), on="project_id")
        .join(se.select("sow_id", pl.col("currency").alias("_ccy")), on="sow_id", how="left")
    )
    te = _per_entry_rc(ctx, _time_rate(ctx, te), "_rate_c", "_rate_ccy")
    g = (
        te.group_by("task_id")
        .agg(pl.col("hours").sum().alias("_h"), pl.col("_v").sum(), pl.col("_pcid").min())
        .filter(pl.col("_h") > 400)
        .sort("task_id")
    )
    return key(
        "Q2C-034",
        "task",
        [(r["task_id"], r["_pcid"], Decimal(int(r["_v"])) / 100, "") for r in g.iter_rows(named=True)],
    )
