"""Delivery → bill: Q2C-032 (approved time never invoiced), Q2C-032b (approval beyond SLA), Q2C-033 (rate ≠ contract).

Rates: rate_effective = the SOW-scope rate_card row of the SOW for the role whose [valid_from, valid_to] covers the
work date (every generated T&M SOW has one; STANDARD rows exist per currency but never win over a SOW row).
value_ccy = hours × bill_rate (exact: rates are whole units, hours in quarter hours), in the rate card's currency
(a project whose currency drifted from its SOW, Q2C-040, still converts from the rate's currency).

Q2C-032 — T&M/TM_CAP, billable, approved, invoice_line_id NULL, work_date ≤ last day of the month before as_of.
  Injected: 1.5 % of billable hours (entries weighted by the PM's sloppiness) are dropped from their invoices.
  One row per project: impact_rc = Σ rc(value_ccy, currency, as_of) (the unbilled WIP), expected_loss_rc =
  ROUND(Σ rc(value_ccy, currency, as_of) × p_leak(as_of − month_end(work_date)), 2), each rc rounded to cents.
  (Late approvals from Q2C-032b can add entries here.)
Q2C-032b — approval_status 'submitted' and as_of − submitted_at::DATE > 5 days. Injected through the approval lag:
  for 12 % × PM sloppiness of entries the lag is lognormal(median 2 d, σ 1.3) instead of < 3 d.
  One row per project: impact_rc = Σ rc(hours × rate, currency, as_of), expected_loss_rc (cost of the delay) =
  ROUND(Σ[rc(hours × rate, currency, as_of) × (age_days − 5)] × coc / 365, 2), rc per entry rounded to cents.
Q2C-033 — T&M time invoice lines on posted invoices with |unit_price − contract rate| > 0.5 % of the rate, excluding
  lines explained by an un-propagated rate amendment (Q2C-061b: unit_price = the superseded card's rate after the
  amendment's effective date). Injected on 2 % of lines: 70 % under (×0.85–0.97), 30 % over (×1.03–1.15).
  Same currency only (rate card = invoice). One row per invoice line: impact_rc = rc(|contract − unit_price| × quantity,
  invoice currency, invoice_date).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from ..calc import DAY, month_end, p_leak
from ..ctx import Ctx
from ..frames import by_slices
from ..params import CHECK_PARAMS
from .base import COC, key, pick, reprice, sloppy, unbill


def plan(ctx: Ctx) -> None:
    """Slow approvals for sloppy PMs (drives Q2C-032b and some Q2C-032)."""
    scale = ctx.defect_scale

    def lag(rng: np.random.Generator, te: pl.DataFrame) -> np.ndarray:
        pms = ctx.t["project"].select("project_id", "pm_id")
        pm = by_slices(  # an order-keeping left join, a slice of entries at a time
            te.select("project_id"), lambda x: x.join(pms, on="project_id", how="left", maintain_order="left")
        )
        w = sloppy(ctx, pm, by="pm_id")
        slow = rng.random(te.height) < np.clip(0.12 * scale * w / w.mean(), 0, 1)
        fast = rng.integers(2 * 3600, 72 * 3600, te.height)
        long = (rng.lognormal(np.log(2), 1.3, te.height) * DAY).astype(np.int64)
        return np.where(slow, np.maximum(long, fast), fast)

    ctx.notes["approval_lag_fn"] = lag


def inject(ctx: Ctx) -> None:
    """032: drop billed time from invoices; 033: mis-price time lines."""
    cut = int(np.datetime64(np.datetime64(ctx.A, "D"), "M").astype("datetime64[D]").astype(np.int64)) - 1
    # sources of the lines of credited invoices: the set the join of every line to its invoice filtered gives
    credited_inv = ctx.t["invoice"].filter(pl.col("_credited").fill_null(False))["invoice_id"]
    credited = (
        ctx.t["invoice_line"]
        .select("invoice_id", "source_id")
        .filter(pl.col("invoice_id").is_in(credited_inv.implode()))["source_id"]
        .implode()
    )
    # every row filter before the PM join, only the two columns used after it materialised (lazy projection),
    # and the join a slice at a time keeping the entries' order (as the whole join, the entries probing, does)
    te = (
        ctx.t["time_entry"]
        .lazy()
        .filter(
            pl.col("invoice_line_id").is_not_null()
            & (pl.col("work_date") <= cut)
            & ~pl.col("time_entry_id").is_in(credited)
        )
        .select("project_id", "invoice_line_id")
        .collect()
    )
    pms = ctx.t["project"].select("project_id", "pm_id")
    te = by_slices(te, lambda x: x.join(pms, on="project_id", maintain_order="left"))
    chosen = pick(ctx, te, "Q2C-032", weight=sloppy(ctx, te, by="pm_id"))
    del te, credited
    unbill(ctx, chosen["invoice_line_id"].to_list())
    # 033 on remaining time lines of SOWs without rate amendments
    # lines of uncredited, never re-billed invoices by a filter on invoice id (the same lines, in the same order,
    # as joining every time line to its invoice and filtering); the client comes per line after the entry join
    inv = ctx.t["invoice"].select("invoice_id", "client_id", "_credited", "_rebill_of")
    clean = inv.filter(~pl.col("_credited").fill_null(False) & pl.col("_rebill_of").is_null())["invoice_id"]
    lines = (
        ctx.t["invoice_line"]
        .select("invoice_line_id", "invoice_id", "line_type", "source_id", "unit_price")
        .filter((pl.col("line_type") == "time") & pl.col("invoice_id").is_in(clean.implode()))
        .drop("line_type")
        .with_row_index("_li")
    )
    # the entry join (the larger side, the entries, sets the row order) carries the lines' row number only;
    # the lines' own columns are fetched by it afterwards
    te = ctx.t["time_entry"].select(pl.col("time_entry_id").alias("source_id"), "_ver", "_si")
    il = lines.select("_li", "source_id").join(te, on="source_id").filter(pl.col("_ver") == 0)
    del te
    il = lines.drop("_li").select(pl.all().gather(il["_li"])).hstack(il.select("_ver", "_si"))
    del lines
    clients = inv.select("invoice_id", "client_id")
    il = by_slices(il, lambda x: x.join(clients, on="invoice_id", how="left", maintain_order="left"))
    has_rate_am = ctx.t["amendment"].filter(pl.col("change_type") == "rate")["sow_id"].implode()
    sow_ids = ctx.t["sow"]["sow_id"].to_numpy()
    il = il.filter(~pl.Series(sow_ids[il["_si"].to_numpy()]).is_in(has_rate_am))
    ch = pick(ctx, il, "Q2C-033", weight=sloppy(ctx, il))
    rng = ctx.child_rng("inject-033")
    under = rng.random(ch.height) < 0.7
    f = np.where(under, rng.uniform(0.85, 0.97, ch.height), rng.uniform(1.03, 1.15, ch.height))
    price = (np.round(ch["unit_price"].to_numpy() * f / 100) * 100).astype(np.int64)
    reprice(ctx, ch["invoice_line_id"].to_list(), price.tolist())


def _rates(ctx: Ctx, te: pl.DataFrame) -> pl.DataFrame:
    """Attach the SOW-scope contract rate in force at work_date (rate_effective, pref = 1)."""
    rcard = (
        ctx.t["rate_card"]
        .filter(pl.col("scope") == "SOW")
        .select(
            "sow_id",
            "role",
            "valid_from",
            "valid_to",
            pl.col("bill_rate").alias("_cr"),
            pl.col("currency").alias("_rccy"),
        )
    )
    return (
        te.join(
            ctx.t["project"].select("project_id", "sow_id", "currency", "billing_type", "correlation_id"),
            on="project_id",
            suffix="_p",
        )
        .join(rcard, on=["sow_id", "role"], how="left")
        .filter(
            pl.col("_cr").is_null()
            | ((pl.col("work_date") >= pl.col("valid_from")) & (pl.col("work_date") <= pl.col("valid_to")))
        )
    )


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 032, 032b, 033."""
    out = []
    cut = int(np.datetime64(np.datetime64(ctx.A, "D"), "M").astype("datetime64[D]").astype(np.int64)) - 1

    def unbilled(te: pl.DataFrame) -> pl.DataFrame:
        te = te.select(
            "project_id",
            "role",
            "work_date",
            "hours",
            "correlation_id",
            "billable",
            "approval_status",
            "invoice_line_id",
        ).filter(
            pl.col("billable")
            & (pl.col("approval_status") == "approved")
            & pl.col("invoice_line_id").is_null()
            & (pl.col("work_date") <= cut)
        )
        w = _rates(ctx, te).filter(
            pl.col("billing_type").is_in(["TM", "TM_CAP"]) & pl.col("_cr").is_not_null()
        )
        # per entry: rc cents (exact, value_ccy has 4 decimals: hours/100 × rate cents/100) × p_leak (hundredths)
        v = ctx.fx.rc_units((w["hours"] * w["_cr"]).to_numpy(), 4, w["_rccy"], np.full(w.height, ctx.A))
        pl100 = np.round(p_leak(ctx.A - month_end(w["work_date"].to_numpy())) * 100).astype(np.int64)
        return w.select(
            "project_id",
            "correlation_id",
            "hours",
            _v=pl.Series(v, dtype=pl.Int64),
            _x=pl.Series(v * pl100, dtype=pl.Int64),
        )

    # sums per project (a project's entries all carry its correlation id), so slices of entries give the same
    w = by_slices(ctx.t["time_entry"], unbilled)  # 1e-4 currency units
    g = (
        w.group_by("project_id")
        .agg(pl.col("_v", "_x").sum(), pl.first("correlation_id"), pl.len(), pl.col("hours").sum())
        .sort("project_id")
    )
    out.append(
        key(
            "Q2C-032",
            "project",
            [
                (
                    r["project_id"],
                    r["correlation_id"],
                    Decimal(int(r["_v"])) / 100,
                    f"entries={r['len']} hours={r['hours'] / 100}",
                    Decimal(int(r["_x"])) / 10_000,
                )
                for r in g.iter_rows(named=True)
            ],
        )
    )
    sla = CHECK_PARAMS["sla_approval_days"]
    te = (
        ctx.t["time_entry"]
        .select(
            "project_id", "role", "work_date", "hours", "correlation_id", "approval_status", "submitted_at"
        )
        .filter((pl.col("approval_status") == "submitted") & (ctx.A - pl.col("submitted_at") // DAY > sla))
    )
    w = _rates(ctx, te).with_columns(pl.col("_cr").fill_null(0), _rccy=pl.coalesce("_rccy", "currency"))
    v = ctx.fx.rc_units((w["hours"] * w["_cr"]).to_numpy(), 4, w["_rccy"], np.full(w.height, ctx.A))
    w = w.with_columns(
        _v=pl.Series(v), _x=pl.Series(v) * (ctx.A - pl.col("submitted_at") // DAY - sla)
    )  # _x: cents × days past the SLA
    g = (
        w.group_by("project_id")
        .agg(pl.col("_v", "_x").sum(), pl.first("correlation_id"), pl.len())
        .sort("project_id")
    )
    rows = [
        (
            r["project_id"],
            r["correlation_id"],
            Decimal(int(r["_v"])) / 100,
            f"entries={r['len']}",
            Decimal(int(r["_x"])) / 100 * COC / 365,
        )
        for r in g.iter_rows(named=True)
    ]
    out.append(key("Q2C-032b", "project", rows))
    out.append(_eval_033(ctx))
    return pl.concat(out)


def _eval_033(ctx: Ctx) -> pl.DataFrame:
    tol = CHECK_PARAMS["rate_tol_pct"]
    # shortcut: an entry's _rate is its rate_effective row (rate_grid = rate_card), so only lines priced off it can
    # fail; those few are found on two columns of every time line before the lines are joined to anything else
    rates = ctx.t["time_entry"].select(pl.col("time_entry_id").alias("source_id"), "_rate")
    off = by_slices(
        ctx.t["invoice_line"].select("invoice_line_id", "line_type", "source_id", "unit_price"),
        lambda x: (
            x.filter(pl.col("line_type") == "time")
            .join(rates, on="source_id")
            .filter(pl.col("unit_price") != pl.col("_rate"))
            .select("invoice_line_id")
        ),
    )["invoice_line_id"].implode()
    il = (
        ctx.t["invoice_line"]
        .select(
            "invoice_line_id",
            "invoice_id",
            "line_type",
            "source_id",
            "unit_price",
            "quantity",
            "project_id",
            "role",
            "correlation_id",
        )
        .filter((pl.col("line_type") == "time") & pl.col("invoice_line_id").is_in(off))
        .join(
            ctx.t["invoice"]
            .filter(~pl.col("status").is_in(["draft", "cancelled"]))
            .select("invoice_id", "invoice_date", pl.col("currency").alias("_iccy")),
            on="invoice_id",
        )
    )
    te = ctx.t["time_entry"].select(
        pl.col("time_entry_id").alias("source_id"),
        "project_id",
        "role",
        "work_date",
        "_si",
        "_ver",
        "time_entry_id",
        "_rate",
    )
    cand = il.join(te, on="source_id").filter(pl.col("unit_price") != pl.col("_rate")).drop("_rate")
    j = _rates(ctx, cand).filter(pl.col("_cr").is_not_null())
    j = j.filter(
        (pl.col("_rccy") == pl.col("_iccy"))
        & ((pl.col("unit_price") - pl.col("_cr")).abs() > tol * pl.col("_cr"))
    )
    # exclude Q2C-061b: superseded rate after an executed rate amendment
    grid = ctx.notes["rate_grid"]
    from ..params import ROLES

    role_i = np.searchsorted(np.array(sorted(ROLES)), j["role"].to_numpy())
    prev = np.where(
        j["_ver"].to_numpy() > 0,
        grid[j["_si"].to_numpy(), np.maximum(j["_ver"].to_numpy() - 1, 0), role_i],
        -1,
    )
    j = j.filter(pl.Series(prev != j["unit_price"].to_numpy()))
    j = j.sort("invoice_line_id")
    imp = ctx.fx.rc_units(
        ((j["_cr"] - j["unit_price"]).abs() * j["quantity"]).to_numpy(),
        4,
        j["_iccy"],
        j["invoice_date"].to_numpy(),
    )
    j = j.with_columns(_imp=pl.Series(imp))
    return key(
        "Q2C-033",
        "invoice_line",
        [
            (
                r["invoice_line_id"],
                r["correlation_id"],
                Decimal(int(r["_imp"])) / 100,
                f"billed={r['unit_price'] / 100} contract={r['_cr'] / 100} {'under' if r['unit_price'] < r['_cr'] else 'over'}",
            )
            for r in j.iter_rows(named=True)
        ],
    )
