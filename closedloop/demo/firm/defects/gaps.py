"""Contract → project → billing setup gaps: Q2C-011, Q2C-013, Q2C-021, Q2C-034 (inject + evaluate on the truth).

Q2C-011 — delivery started on a verbal win: ≈1 % of active projects are pre-sales projects (no SOW, billing type not
  set, the opportunity's correlation id) with 5-15 business days of approved billable time. Entity project (active,
  SOW missing or not executed/completed, billable time); impact_rc = Σ per entry rc(hours × STANDARD rate of the role
  on the work date, rate ccy, as_of), the standard card in the project currency first.
Q2C-013 — 0.5 % of T&M projects created twice by an integration retry (a new record 1-10 minutes later, same SOW).
  Entity project (each later non-cancelled primary project of a SOW, or a later load of one source record);
  impact_rc = Σ rc(± amount_net, ccy, invoice_date) over the duplicate's posted invoices (credit notes negative).
Q2C-021 — 3 % of un-amended FF SOWs: a future schedule line re-keyed so the total drifts (80 % under by 1-20 % of the
  value, 20 % over). Entity sow (FF/MILESTONE/RETAINER/MANAGED_SERVICE, schedule in the SOW currency,
  |Σ − eff_value| > max(1, 0.1 % × eff_value), not a schedule still at the un-amended value);
  impact_rc = rc(|Σ − eff_value|, ccy, signed_date).
Q2C-022 — 2 % of future milestone schedule lines keyed 5-15 % below the CLM amount (evaluated in delivery.py; the SOW
  then also fails Q2C-021).
Q2C-034 — 2 % × PM sloppiness of (billable task, month) groups on T&M projects: the time was flagged non-billable and
  taken off its invoice. Entity task with > 4 h of non-billable time on a billable task of a T&M project;
  impact_rc = Σ per entry rc(hours × time_rate, rate ccy, as_of) (0 without a rate).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..calc import DAY, month_index
from ..ctx import Ctx
from ..frames import hash_parts
from .base import pick, rate, sloppy, unbill

LIVE = ~pl.col("status").is_in(["draft", "cancelled"])


def _next_ids(col: pl.Series, n: int) -> list[str]:
    top = int(col.cast(pl.Int64).max())
    return [str(top + 1 + i) for i in range(n)]


def inject(ctx: Ctx) -> None:
    """Pre-sales projects, duplicate projects, drifting schedules, non-billable time on billable tasks."""
    rng = ctx.child_rng("inject-gaps")
    _nonbillable(ctx)
    _schedule_drift(ctx, rng)
    _milestone_drift(ctx, rng)
    _duplicates(ctx)
    _presales(ctx, rng)


def _nonbillable(ctx: Ctx) -> None:
    tm = ctx.t["project"].filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]))
    tasks = ctx.t["task"].filter(pl.col("billable"))["task_id"].implode()
    tm_ids = tm["project_id"].implode()
    src = ctx.t["time_entry"].select(
        "time_entry_id", "task_id", "project_id", "work_date", "hours", "invoice_line_id", "billable"
    )

    def entries(part: pl.Expr) -> pl.DataFrame:
        # T&M entries by a filter on project id; the PM comes to the (task, month) groups, one per project
        te = src.filter(
            pl.col("billable") & pl.col("task_id").is_in(tasks) & pl.col("project_id").is_in(tm_ids) & part
        )
        return te.with_columns(_m=pl.Series(month_index(te["work_date"].to_numpy())))

    inv = ctx.t["invoice"]
    dirty = inv.filter(pl.col("_credited").fill_null(False) | pl.col("_rebill_of").is_not_null())[
        "invoice_id"
    ]
    dirty_lines = (
        ctx.t["invoice_line"]
        .select("invoice_id", "invoice_line_id")
        .filter(pl.col("invoice_id").is_in(dirty.implode()))["invoice_line_id"]
    )
    dirty_lines = dirty_lines.implode()
    # everything below is per (task, month): a hash-part of the tasks at a time (its entries in their order)
    parts = hash_parts("task_id", src.height, slices_per_part=4)
    grouped = []
    for part in parts:
        te = entries(part)
        bad = te.filter(pl.col("invoice_line_id").is_in(dirty_lines)).select("task_id", "_m").unique()
        grouped.append(
            te.group_by("task_id", "_m")
            .agg(pl.first("project_id"), pl.col("hours").sum().alias("_h"))
            .join(bad, on=["task_id", "_m"], how="anti")
        )
        del te, bad
    groups = (
        pl.concat(grouped)
        .filter(pl.col("_h") > 400)
        .sort("task_id", "_m")
        .join(tm.select("project_id", "pm_id"), on="project_id", how="left", maintain_order="left")
    )
    g = pick(ctx, groups, "Q2C-034", weight=sloppy(ctx, groups, by="pm_id")).select("task_id", "_m")
    hit = pl.concat([entries(part).join(g, on=["task_id", "_m"]) for part in parts])
    del groups, grouped
    unbill(ctx, hit["invoice_line_id"].drop_nulls().to_list())
    ids_ = hit["time_entry_id"].implode()
    ctx.t["time_entry"] = ctx.t["time_entry"].with_columns(
        billable=pl.when(pl.col("time_entry_id").is_in(ids_)).then(False).otherwise("billable")
    )


def _schedule_drift(ctx: Ctx, rng: np.random.Generator) -> None:
    amended = ctx.t["amendment"]["sow_id"].unique().implode()
    ff = ctx.t["sow"].filter((pl.col("billing_type") == "FF") & ~pl.col("sow_id").is_in(amended))
    fut = (
        ctx.t["billing_schedule"]
        .filter(pl.col("sow_id").is_in(ff["sow_id"].implode()) & (pl.col("bill_date") > ctx.A))
        .sort("sow_id", "bill_date", "schedule_line_id")
        .group_by("sow_id", maintain_order=True)
        .last()
        .join(ff.select("sow_id", "value"), on="sow_id")
    )
    n_fixed = ctx.t["sow"].filter(pl.col("billing_type").is_in(["FF", "MILESTONE"])).height  # §D.2 population
    a = pick(ctx, fut, "Q2C-021", p=min(1.0, rate(ctx, "Q2C-021") * n_fixed / max(fut.height, 1)))
    under = rng.random(a.height) < 0.8
    d = np.where(under, -1, 1) * rng.uniform(0.01, 0.20, a.height)
    delta = np.round(a["value"].to_numpy() * d).astype(np.int64)
    new = np.maximum(a["amount"].to_numpy() + delta, 100)
    m = dict(zip(a["schedule_line_id"].to_list(), new.tolist(), strict=True))
    ctx.t["billing_schedule"] = ctx.t["billing_schedule"].with_columns(
        amount=pl.col("schedule_line_id").replace_strict(m, default=pl.col("amount"), return_dtype=pl.Int64)
    )


def _milestone_drift(ctx: Ctx, rng: np.random.Generator) -> None:
    """022: a future milestone's schedule line keyed 5-15 % below the CLM amount (co-trips 021 on the SOW)."""
    ms = ctx.t["milestone"].select("milestone_id", pl.col("amount").alias("_ma"))
    fut = (
        ctx.t["billing_schedule"]
        .filter(pl.col("milestone_id").is_not_null() & (pl.col("bill_date") > ctx.A))
        .join(ms, on="milestone_id")
        .sort("schedule_line_id")
    )
    a = pick(ctx, fut, "Q2C-022")
    new = np.round(a["_ma"].to_numpy() * (1 - rng.uniform(0.05, 0.15, a.height))).astype(np.int64)
    m = dict(zip(a["schedule_line_id"].to_list(), new.tolist(), strict=True))
    ctx.t["billing_schedule"] = ctx.t["billing_schedule"].with_columns(
        amount=pl.col("schedule_line_id").replace_strict(m, default=pl.col("amount"), return_dtype=pl.Int64)
    )


def _duplicates(ctx: Ctx) -> None:
    p = ctx.t["project"]
    tm = p.filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]))  # §D.2: 0.5 % of all projects
    a = pick(ctx, tm, "Q2C-013", p=min(1.0, rate(ctx, "Q2C-013") * p.height / max(tm.height, 1))).sort(
        "project_id"
    )
    if not a.height:
        return
    new_ids = _next_ids(p["project_id"], a.height)
    dup = a.with_columns(
        project_id=pl.Series(new_ids),
        source_id=pl.Series(new_ids),
        created_at=pl.col("created_at") + pl.Series(np.arange(a.height) % 10 * 60 + 60),
    )
    ctx.t["project"] = pl.concat([p, dup.select(p.columns)])


def _presales(ctx: Ctx, rng: np.random.Generator) -> None:
    with_sow = ctx.t["sow"]["opportunity_id"].drop_nulls().implode()
    opp = ctx.t["opportunity"].filter(
        pl.col("is_won")
        & ~pl.col("opportunity_id").is_in(with_sow)
        & (pl.col("close_date") < ctx.A - 10)
        & (pl.col("deal_type") == "new")
    )
    p = ctx.t["project"]
    want = 0.01 * ctx.defect_scale * p.filter(pl.col("status") == "active").height
    a = pick(ctx, opp.sort("opportunity_id"), "Q2C-011", p=min(1.0, want / max(opp.height, 1)))
    if not a.height:
        return
    res = ctx.t["resource"]
    pids = _next_ids(p["project_id"], a.height)
    tids = _next_ids(ctx.t["task"]["task_id"], a.height)
    start = a["close_date"].to_numpy() + 1
    proj = a.select(
        project_id=pl.Series(pids),
        client_id="client_id",
        legal_entity_id="legal_entity_id",
        name=pl.lit("Pre-sales: ") + pl.col("name"),
        currency="currency",
        start_date=pl.Series(start),
        status=pl.lit("active"),
        created_at=pl.Series(start * DAY + 10 * 3600),
        project_role=pl.lit("primary"),
        source_system=pl.lit("netsuite"),
        source_id=pl.Series(pids),
        correlation_id="correlation_id",
    )
    ctx.t["project"] = pl.concat([p, proj], how="diagonal_relaxed")
    task = proj.select(
        task_id=pl.Series(tids),
        project_id="project_id",
        wbs_code=pl.lit("1.1"),
        name=pl.lit("Pre-sales delivery"),
        billable=pl.lit(True),
        source_system=pl.lit("netsuite"),
        source_id=pl.Series(tids),
        correlation_id="correlation_id",
    )
    ctx.t["task"] = pl.concat([ctx.t["task"], task], how="diagonal_relaxed")
    rows = []
    for r, t, s0 in zip(proj.iter_rows(named=True), tids, start, strict=True):
        pool = res.filter(pl.col("legal_entity_id") == r["legal_entity_id"])
        rr = pool.row(int(rng.integers(pool.height)), named=True)
        b0 = int(ctx.cal.bdn(np.array([s0]))[0]) + 1
        n = int(rng.integers(5, 16))
        days = ctx.cal.bd_days[np.arange(b0, b0 + n) - 1]
        days = days[days < ctx.A - 7]
        for d in days:
            rows.append(
                (
                    r["project_id"],
                    t,
                    rr["resource_id"],
                    rr["legal_entity_id"],
                    rr["role"],
                    int(d),
                    rr["cost_rate"],
                    r["correlation_id"],
                )
            )
    if not rows:
        return
    te = ctx.t["time_entry"]
    new = pl.DataFrame(
        rows,
        schema=[
            "project_id",
            "task_id",
            "resource_id",
            "resource_legal_entity_id",
            "role",
            "work_date",
            "cost_rate",
            "correlation_id",
        ],
        orient="row",
    )
    sub = (new["work_date"] + 1) * DAY + 17 * 3600
    new = new.with_columns(
        time_entry_id=pl.Series(_next_ids(te["time_entry_id"], new.height)),
        hours=pl.lit(800, pl.Int64),
        billable=pl.lit(True),
        approval_status=pl.lit("approved"),
        submitted_at=sub,
        approved_at=sub + 7200,
        invoice_line_id=pl.lit(None, pl.String),
        source_system=pl.lit("netsuite"),
        _rate=pl.lit(0, pl.Int64),
        _value=pl.lit(0, pl.Int64),
        _ver=pl.lit(0, pl.Int64),
    ).with_columns(source_id=pl.col("time_entry_id"))
    cols = [c for c in new.columns if c in te.columns]
    del te
    ctx.append_rows("time_entry", new.select(cols), how="diagonal_relaxed")


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 011, 013, 021, 034."""
    from .gaps_eval import evaluate as ev

    return ev(ctx)
