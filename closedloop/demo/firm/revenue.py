"""Revenue (ERP): schedule lines per project and month by the SOW's policy method, and the revenue contract."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY, month_end, month_start
from .ctx import Ctx
from .frames import by_slices

METHOD = {
    "TM": "right_to_invoice",
    "TM_CAP": "input_hours",
    "FF": "input_hours",
    "MILESTONE": "output_milestones",
    "RETAINER": "ratable",
}


def build(ctx: Ctx) -> None:
    """Recognise revenue: T&M = approved billable value; FF = hours-based % complete with catch-up; milestone on
    trigger; retainer ratable; FF point-in-time at the end. Only periods posted by as_of."""
    p = ctx.t["project"].join(
        ctx.t["sow"].select("sow_id", "over_time_criteria", "value", "_H", "_fee"), on="sow_id"
    )
    tm_ids = p.filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]))["project_id"].implode()
    ff = p.filter(
        (pl.col("billing_type") == "FF") & (pl.col("over_time_criteria") == "over_time") & (pl.col("_H") > 0)
    )
    ff_ids = ff["project_id"].implode()

    def monthly(te: pl.DataFrame, keep: pl.Expr, value: str, name: str) -> pl.DataFrame:
        te = te.select("project_id", "billable", "approval_status", "work_date", value).filter(keep)
        period = pl.Series(month_start(te["work_date"].to_numpy()))
        return (
            te.with_columns(period=period)
            .group_by("project_id", "period")
            .agg(pl.col(value).sum().alias(name))
        )

    def by_month(keep: pl.Expr, value: str, name: str) -> pl.DataFrame:
        # integer sums per (project, month): slices of the entries, summed again, give the same totals
        parts = by_slices(ctx.t["time_entry"], lambda te: monthly(te, keep, value, name))
        return parts.group_by("project_id", "period").agg(pl.col(name).sum())

    tm = pl.col("project_id").is_in(tm_ids) & pl.col("billable") & (pl.col("approval_status") == "approved")
    parts = [by_month(tm, "_value", "amount")]
    # FF over time: cumulative catch-up on hours, transaction price as amended at each month end
    fh = (
        by_month(pl.col("project_id").is_in(ff_ids), "hours", "_h")
        .sort("project_id", "period")
        .with_columns(_cum=pl.col("_h").cum_sum().over("project_id"))
    )
    am = (
        ctx.t["amendment"]
        .filter((pl.col("status") == "executed") & (pl.col("value_delta") != 0))
        .select("sow_id", "effective_date", "value_delta")
    )
    fh = fh.join(ff.select("project_id", "sow_id", "value", "_H"), on="project_id")
    fh = fh.with_columns(_pe=pl.Series(month_end(fh["period"].to_numpy())))
    deltas = (
        fh.select("project_id", "period", "sow_id", "_pe")
        .join(am, on="sow_id")
        .filter(pl.col("effective_date") <= pl.col("_pe"))
        .group_by("project_id", "period")
        .agg(pl.col("value_delta").sum())
    )
    fh = fh.join(deltas, on=["project_id", "period"], how="left").with_columns(
        _tp=pl.col("value") + pl.col("value_delta").fill_null(0)
    )
    cum = (fh["_tp"].to_numpy() * fh["_cum"].to_numpy() * 2 + fh["_H"].to_numpy()) // (
        2 * fh["_H"].to_numpy()
    )
    fh = fh.with_columns(_cr=pl.Series(cum)).with_columns(
        amount=pl.col("_cr") - pl.col("_cr").shift(1, fill_value=0).over("project_id")
    )
    parts.append(fh.select("project_id", "period", "amount"))
    pit = p.filter((pl.col("billing_type") == "FF") & (pl.col("over_time_criteria") == "point_in_time"))
    parts.append(
        pit.select(
            "project_id",
            period=pl.Series(month_start(pit["end_date"].to_numpy())),
            amount=pl.col("budget_amount"),
        )
    )
    ms = ctx.t["milestone"].filter(pl.col("project_id").is_not_null())
    trig = np.where(
        ms["billing_trigger"].to_numpy() == "acceptance",
        ms["accepted_date"].fill_null(10**7).to_numpy(),
        ms["due_date"].to_numpy(),
    )
    ms = ms.with_columns(_t=pl.Series(trig)).filter(pl.col("_t") <= ctx.A)
    parts.append(ms.select("project_id", "amount", period=pl.Series(month_start(ms["_t"].to_numpy()))))
    rt = ctx.t["billing_schedule"].filter(pl.col("line_type") == "retainer")
    parts.append(rt.select("project_id", "amount", period=pl.Series(month_start(rt["bill_date"].to_numpy()))))
    rs = pl.concat([x.select("project_id", "period", pl.col("amount").cast(pl.Int64)) for x in parts])
    rs = (
        rs.group_by("project_id", "period")
        .agg(pl.col("amount").sum())
        .join(p.select("project_id", "sow_id", "billing_type", "correlation_id"), on="project_id")
    )
    rs = (
        rs.with_columns(posted_at=(pl.Series(month_end(rs["period"].to_numpy())) + 3) * DAY + 10 * 3600)
        .filter(pl.col("posted_at") < ctx.as_of_ts)
        .sort("period", "project_id")
    )
    locked = ctx.t["period_lock"]["period"].implode()
    ctx.t["revenue_schedule"] = rs.with_columns(
        rev_line_id=ids.ns_ids("revenueline", rs.height),
        method=pl.col("billing_type").replace_strict(METHOD),
        period_locked=pl.col("period").is_in(locked),
        source_system=pl.lit("netsuite"),
    ).with_columns(
        method=pl.when(pl.col("sow_id").is_in(pit["sow_id"].implode()))
        .then(pl.lit("point_in_time"))
        .otherwise("method"),
        source_id=pl.col("rev_line_id"),
    )
    s = ctx.t["sow"]
    last = (
        ctx.t["amendment"]
        .filter(pl.col("status") == "executed")
        .group_by("sow_id")
        .agg(pl.col("_t_rev").max().alias("_tr"))
    )
    ctx.t["revenue_contract"] = s.join(last, on="sow_id", how="left").select(
        "sow_id",
        "correlation_id",
        transaction_price=pl.col("_eff_value"),
        tp_updated_at=pl.max_horizontal((pl.col("signed_date") + 1) * DAY + 12 * 3600, "_tr"),
        source_system=pl.lit("netsuite"),
        source_id=pl.concat_str([pl.lit("RC-"), "sow_id"]),
    )
