"""Project header, milestone plan, contract window and cap: Q2C-012, Q2C-022, Q2C-037, Q2C-050 (evaluated on the truth).

These checks are co-tripped by other families' defects (an un-propagated amendment leaves a budget or a cap behind,
pre-signature work predates the SOW, a SOW that never got a project has no billing schedule), so each evaluator
applies the catalog condition to the final tables; this family injects only Q2C-012 and Q2C-037 directly.

Q2C-012 — non-cancelled project vs amendment-adjusted SOW: billing_type differs; start more than 7 days before the SOW
  start; end_date after eff_end_date; PO / payment terms differ where both are set; budget_amount ≠ eff_value on
  FF/MILESTONE/TM_CAP/RETAINER unless it equals the value as of an earlier executed amendment or the original value
  (a stale budget: Q2C-060 reports the amendment).
  impact_rc = rc(|budget − eff_value|, sow ccy, as_of) when 'budget' is among the mismatches, else 0; entity project.
  Injected: 2 % of projects get end_date pushed 30-90 days past the SOW's effective end (no time is booked there).
Q2C-022 — non-cancelled CLM milestone of a SOW that has a non-cancelled project (else Q2C-010): no schedule line
  (missing), Σ schedule ≠ amount (drift), or date-triggered and |due_date − min(bill_date)| > 15 (date). impact_rc = rc(amount | |amount − Σ|, sow ccy, due_date), 0 for date;
  entity milestone.
Q2C-037 — billable time with work_date > eff_end_date, < sow.start_date, or by a resource with no covering assignment on
  a project that has assignments. impact_rc = rc(hours × rate, rate ccy, work_date); rate = time_rate (SOW card
  covering work_date with the latest valid_from, else the role's STANDARD rate in the SOW currency); entity time_entry.
  Injected: 0.8 % of billable entries in a SOW's last month get an unassigned resource of the same role.
Q2C-050 — fees billed (lines other than expense / subcontract pass-through, on posted 'invoice' invoices in the SOW
  currency not credited by a live credit note) above eff_cap_amount (> 0): impact_rc = rc(billed − cap, sow ccy, as_of);
  entity sow. The catalog's ≥ 90 % S4 warning is not a defect and not reported. Co-trips: cap amendments that never
  reached billing (Q2C-061), duplicate invoices (Q2C-100).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from ..ctx import Ctx
from ..frames import by_slices, set_rows
from ..params import CHECK_PARAMS
from .base import fees_billed, key, pick, rc, sow_effective


def inject(ctx: Ctx) -> None:
    """012: project end beyond the SOW; 037: billable time by an unassigned resource late in the SOW."""
    rng = ctx.child_rng("inject-delivery")
    p = ctx.t["project"]
    a = pick(ctx, p.filter(pl.col("end_date").is_not_null()), "Q2C-012")
    se = sow_effective(ctx).select("sow_id", "eff_end_date")
    push = dict(zip(a["project_id"].to_list(), rng.integers(30, 91, a.height).tolist(), strict=True))
    ctx.t["project"] = (
        p.join(se, on="sow_id", how="left", maintain_order="left")
        .with_columns(_push=pl.col("project_id").replace_strict(push, default=None, return_dtype=pl.Int64))
        .with_columns(
            end_date=pl.when(pl.col("_push").is_not_null())
            .then(pl.max_horizontal("end_date", "eff_end_date") + pl.col("_push"))
            .otherwise("end_date")
        )
        .drop("_push", "eff_end_date")
    )
    te = ctx.t["time_entry"]
    proj = ctx.t["project"].select("project_id", "sow_id").join(se, on="sow_id")
    # the join runs on the key columns and a row number, a slice of entries at a time (each slice still the
    # probe side, so rows keep the entries' order); the few late entries are then fetched by row number
    late = by_slices(
        te.select("project_id", "work_date", "billable").with_row_index("_ri"),
        lambda x: (
            x.filter(pl.col("billable"))
            .join(proj, on="project_id", maintain_order="left")  # as a whole-table join (entries probe)
            .filter(
                (pl.col("work_date") > pl.col("eff_end_date") - 31)
                & (pl.col("work_date") <= pl.col("eff_end_date"))
            )
            .select("_ri")
        ),
    )
    cols = ["time_entry_id", "project_id", "resource_id", "resource_legal_entity_id", "role"]
    late = te.select(pl.col(cols).gather(late["_ri"]))
    n_bill = int(te["billable"].sum())  # §D.2: 0.8 % of billable entries, all in a SOW's last month
    del te
    ch = pick(ctx, late, "Q2C-037", p=min(1.0, 0.008 * ctx.defect_scale * n_bill / max(late.height, 1)))
    if not ch.height:
        return
    asg = ctx.t["assignment"].select("project_id", "resource_id").unique().with_columns(_on=pl.lit(True))
    res = ctx.t["resource"].select("resource_id", "role", "legal_entity_id", "cost_rate")
    # same role and entity (no intercompany Q2C-045 side effect), not assigned to the project: a few random draws
    pool = (
        res.sort("resource_id")
        .group_by("role", "legal_entity_id", maintain_order=True)
        .agg(pl.col("resource_id").alias("_pool"))
        .rename({"legal_entity_id": "resource_legal_entity_id"})
    )
    # each entry draws from its pool by position in one flat array of the pools' members: a copy of the whole
    # pool list on every entry's row is pools × entries strings (GBs at tier l)
    flat = pool["_pool"].explode()
    size = pool["_pool"].list.len().cast(pl.Int64).to_numpy()
    pool = pool.select("role", "resource_legal_entity_id").with_columns(
        _start=pl.Series(np.cumsum(size) - size), _size=pl.Series(size)
    )
    todo = ch.select("time_entry_id", "project_id", "role", "resource_legal_entity_id").join(
        pool, on=["role", "resource_legal_entity_id"], maintain_order="left"
    )
    done = []
    for _ in range(8):
        if not todo.height:
            break
        u = rng.random(todo.height)
        at = todo["_start"].to_numpy() + (u * todo["_size"].to_numpy()).astype(np.int64)
        todo = todo.with_columns(resource_id=flat.gather(at)).join(
            asg, on=["project_id", "resource_id"], how="left", maintain_order="left"
        )
        done.append(todo.filter(pl.col("_on").is_null()).select("time_entry_id", "resource_id"))
        todo = todo.filter(pl.col("_on").is_not_null()).drop("resource_id", "_on")
    picked = (
        pl.concat(done)
        if done
        else pl.DataFrame(schema={"time_entry_id": pl.String, "resource_id": pl.String})
    )
    new_res = ch.select("time_entry_id", "resource_id").join(
        picked.rename({"resource_id": "_p"}), on="time_entry_id", how="left", maintain_order="left"
    )
    new_res = new_res.select(pl.coalesce("_p", "resource_id"))["_p"].to_list()
    m = pl.DataFrame({"time_entry_id": ch["time_entry_id"], "_nr": new_res}).join(
        res.select(
            pl.col("resource_id").alias("_nr"),
            pl.col("legal_entity_id").alias("_nle"),
            pl.col("cost_rate").alias("_ncr"),
        ),
        on="_nr",
    )
    set_rows(
        ctx.t,
        "time_entry",
        "time_entry_id",
        m,
        {"_nr": "resource_id", "_nle": "resource_legal_entity_id", "_ncr": "cost_rate"},
    )


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 012, 022, 037, 050."""
    se = sow_effective(ctx)
    return pl.concat([_eval_012(ctx, se), _eval_022(ctx, se), _eval_037(ctx, se), _eval_050(ctx, se)])


def _eval_012(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    s = se.select(
        "sow_id",
        pl.col("billing_type").alias("_sbt"),
        pl.col("start_date").alias("_ss"),
        "eff_end_date",
        pl.col("po_number").alias("_spo"),
        "eff_payment_terms_days",
        "eff_value",
        pl.col("currency").alias("_sccy"),
    )
    am = ctx.t["amendment"].filter((pl.col("status") == "executed") & (pl.col("effective_date") <= ctx.A))
    stale = pl.concat(
        [
            ctx.t["sow"].select("sow_id", _v="value"),
            am.sort("sow_id", "amendment_no")
            .join(ctx.t["sow"].select("sow_id", "value"), on="sow_id")
            .select(
                "sow_id", _v=pl.col("value") + pl.col("value_delta").fill_null(0).cum_sum().over("sow_id")
            ),
        ]
    ).with_columns(_stale=pl.lit(True))
    p = ctx.t["project"].filter(pl.col("status").fill_null("") != "cancelled").join(s, on="sow_id")
    p = p.join(stale.unique(), left_on=["sow_id", "budget_amount"], right_on=["sow_id", "_v"], how="left")
    p = p.with_columns(
        _bt=(pl.col("billing_type") != pl.col("_sbt")).fill_null(False),
        _sd=(pl.col("_ss") - pl.col("start_date") > 7).fill_null(False),
        _ed=(pl.col("end_date") > pl.col("eff_end_date")).fill_null(False),
        _po=(pl.col("po_number") != pl.col("_spo")).fill_null(False),
        _pt=(pl.col("payment_terms_days") != pl.col("eff_payment_terms_days")).fill_null(False),
        _bu=(
            pl.col("_sbt").is_in(["FF", "MILESTONE", "TM_CAP", "RETAINER"])
            & (pl.col("budget_amount") != pl.col("eff_value"))
            & pl.col("_stale").is_null()
        ).fill_null(False),
    ).filter(pl.any_horizontal("_bt", "_sd", "_ed", "_po", "_pt", "_bu"))
    rows = []
    for r in p.sort("project_id").iter_rows(named=True):
        imp = rc(ctx, abs(r["budget_amount"] - r["eff_value"]), r["_sccy"], ctx.A) if r["_bu"] else Decimal(0)
        what = ",".join(n for n in ("_bt", "_sd", "_ed", "_po", "_pt", "_bu") if r[n])
        rows.append((r["project_id"], r["correlation_id"], imp, what))
    return key("Q2C-012", "project", rows)


def _eval_022(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    tol = CHECK_PARAMS["date_tol_days_022"]
    b = (
        ctx.t["billing_schedule"]
        .filter(pl.col("milestone_id").is_not_null())
        .group_by("milestone_id")
        .agg(pl.col("amount").sum().alias("_sa"), pl.col("bill_date").min().alias("_bd"))
    )
    has_proj = ctx.t["project"].filter(pl.col("status").fill_null("") != "cancelled")["sow_id"].implode()
    m = (
        ctx.t["milestone"]
        .filter((pl.col("status").fill_null("") != "cancelled") & pl.col("sow_id").is_in(has_proj))
        .join(se.select("sow_id", pl.col("currency").alias("_ccy")), on="sow_id")
        .join(b, on="milestone_id", how="left")
    )
    rows = []
    for r in m.sort("milestone_id").iter_rows(named=True):
        if r["_sa"] is None:
            rows.append(
                (
                    r["milestone_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount"], r["_ccy"], r["due_date"]),
                    "missing",
                )
            )
        elif abs(r["_sa"] - r["amount"]) > 1:
            imp = rc(ctx, abs(r["amount"] - r["_sa"]), r["_ccy"], r["due_date"])
            rows.append((r["milestone_id"], r["correlation_id"], imp, "amount_drift"))
        elif r["billing_trigger"] == "date" and abs(r["_bd"] - r["due_date"]) > tol:
            rows.append((r["milestone_id"], r["correlation_id"], Decimal(0), "date_drift"))
    return key("Q2C-022", "milestone", rows)


def _time_rate(ctx: Ctx, te: pl.DataFrame) -> pl.DataFrame:
    """chk.time_rate: SOW card covering work_date (latest valid_from), else STANDARD in the SOW currency."""
    rc_ = ctx.t["rate_card"]
    sow = (
        te.select("time_entry_id", "sow_id", "role", "work_date")
        .join(
            rc_.filter(pl.col("scope") == "SOW").select(
                "sow_id", "role", "valid_from", "valid_to", "currency", "bill_rate"
            ),
            on=["sow_id", "role"],
        )
        .filter((pl.col("work_date") >= pl.col("valid_from")) & (pl.col("work_date") <= pl.col("valid_to")))
        .sort("valid_from", descending=True)
        .group_by("time_entry_id")
        .first()
        .select("time_entry_id", pl.col("currency").alias("_rccy"), pl.col("bill_rate").alias("_r"))
    )
    std = rc_.filter(pl.col("scope") == "STANDARD").select(
        "role", pl.col("currency").alias("_sccy"), pl.col("bill_rate").alias("_std"), "valid_from", "valid_to"
    )
    te = te.join(sow, on="time_entry_id", how="left")
    fb = (
        te.filter(pl.col("_r").is_null())
        .select("time_entry_id", "role", "work_date", "_ccy")
        .join(std, left_on=["role", "_ccy"], right_on=["role", "_sccy"])
        .filter((pl.col("work_date") >= pl.col("valid_from")) & (pl.col("work_date") <= pl.col("valid_to")))
        .sort("valid_from", descending=True)
        .group_by("time_entry_id")
        .first()
        .select("time_entry_id", pl.col("_std"))
    )
    return te.join(fb, on="time_entry_id", how="left").with_columns(
        _rate_c=pl.coalesce("_r", "_std"),
        _rate_ccy=pl.when(pl.col("_r").is_not_null()).then("_rccy").otherwise("_ccy"),
    )


def _eval_037(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    s = se.select(
        "sow_id", pl.col("start_date").alias("_ss"), "eff_end_date", pl.col("currency").alias("_ccy")
    )
    proj = ctx.t["project"].select("project_id", "sow_id")
    asg = ctx.t["assignment"]
    has_asg = asg["project_id"].unique().implode()
    asg = asg.select("project_id", "resource_id", "start_date", "end_date")

    def outside(te: pl.DataFrame) -> pl.DataFrame:
        te = (
            te.select(
                "time_entry_id",
                "project_id",
                "resource_id",
                "role",
                "work_date",
                "hours",
                "correlation_id",
                "billable",
            )
            .filter(pl.col("billable"))
            .join(proj, on="project_id")
            .join(s, on="sow_id")
        )
        cov = (
            te.select("time_entry_id", "project_id", "resource_id", "work_date")
            .join(asg, on=["project_id", "resource_id"])
            .filter(
                (pl.col("work_date") >= pl.col("start_date"))
                & (pl.col("end_date").is_null() | (pl.col("work_date") <= pl.col("end_date")))
            )["time_entry_id"]
            .unique()
            .implode()
        )
        return te.filter(
            (pl.col("work_date") > pl.col("eff_end_date")).fill_null(False)
            | (pl.col("work_date") < pl.col("_ss")).fill_null(False)
            | (pl.col("project_id").is_in(has_asg) & ~pl.col("time_entry_id").is_in(cov))
        )

    # each entry is judged on its own row (and sorted below), so slices of entries give the same rows
    bad = _time_rate(ctx, by_slices(ctx.t["time_entry"], outside)).sort("time_entry_id")
    v = (bad["hours"] * bad["_rate_c"].fill_null(0)).to_numpy()
    imp = ctx.fx.rc_units(v, 4, bad["_rate_ccy"], bad["work_date"].to_numpy())
    return key(
        "Q2C-037",
        "time_entry",
        [
            (t, c, Decimal(int(i)) / 100, "")
            for t, c, i in zip(bad["time_entry_id"], bad["correlation_id"], imp, strict=True)
        ],
    )


def _eval_050(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    live = ~pl.col("status").is_in(["draft", "cancelled"])
    credited = (
        ctx.t["invoice"].filter(live & (pl.col("type") == "credit_note"))["source_ref"].drop_nulls().implode()
    )
    inv = ctx.t["invoice"].filter(
        live & (pl.col("type") == "invoice") & ~pl.col("invoice_id").is_in(credited)
    )
    billed = fees_billed(ctx, inv.select("invoice_id", "sow_id", "currency"), "currency")
    c = se.filter(pl.col("eff_cap_amount").is_not_null() & (pl.col("eff_cap_amount") > 0)).join(
        billed, on=["sow_id", "currency"]
    )
    rows = [
        (r["sow_id"], r["correlation_id"], rc(ctx, r["_b"] - r["eff_cap_amount"], r["currency"], ctx.A), "")
        for r in c.filter(pl.col("_b") > pl.col("eff_cap_amount")).sort("sow_id").iter_rows(named=True)
    ]
    return key("Q2C-050", "sow", rows)


_ = np
