"""Shared defect machinery: effective SOW terms, exact $-impact rows, pickers, and re-billing helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from ..calc import DAY, cents_dec, q2
from ..ctx import Ctx
from ..frames import by_slices, positions
from ..params import CHECK_PARAMS, DEFECT_RATES
from . import KEY_SCHEMA

COC = Decimal(str(CHECK_PARAMS["coc"]))


def rate(ctx: Ctx, check: str) -> float:
    """Injection probability for a check at this firm's defect scale."""
    return min(1.0, DEFECT_RATES[check] * ctx.defect_scale)


def pick(
    ctx: Ctx, df: pl.DataFrame, check: str, weight: np.ndarray | None = None, p: float | None = None
) -> pl.DataFrame:
    """Bernoulli pick of eligible rows at the check's rate; weight (sloppiness, mean≈1) clusters defects (§D.3)."""
    rng = ctx.child_rng(f"pick-{check}")
    prob = rate(ctx, check) if p is None else p
    # the same draws and thresholds as random < clip(prob × w, 0, 1), with one row-sized temporary fewer or three
    # fewer (tens of millions of rows at tier l): unweighted, every threshold is clip(prob × 1.0) = clip(prob)
    if weight is None:
        return df.filter(pl.Series(rng.random(df.height) < np.clip(prob, 0, 1)))
    w = weight / max(float(np.mean(weight)), 1e-9)
    w *= prob
    np.clip(w, 0, 1, out=w)
    return df.filter(pl.Series(rng.random(df.height) < w))


def sloppy(ctx: Ctx, df: pl.DataFrame, by: str = "client_id") -> np.ndarray:
    """Per-row sloppiness factor of the row's client (or PM via project.pm_id)."""
    if by == "client_id":
        m = ctx.t["client"].select("client_id", "_sloppy")
    else:
        m = ctx.t["resource"].select(pl.col("resource_id").alias(by), "_sloppy")
    # a left join keeping row order, a slice of rows at a time: the same factors, a slice of keys joined at once
    got = by_slices(
        df.select(by), lambda x: x.join(m, on=by, how="left", maintain_order="left").select("_sloppy")
    )
    return got["_sloppy"].fill_null(1).to_numpy()


def key(
    check: str, entity_type: str, rows: Iterable[tuple[str, str | None, Decimal, str] | tuple[Any, ...]]
) -> pl.DataFrame:
    """Answer-key rows (entity_id, correlation_id, impact_rc, detail[, expected_loss_rc]) with a stable defect_id.

    impact_rc is the amount at stake; the optional fifth item is the check's second figure (the expected loss of
    leakage, the cost of the delay of cash), None where the check gives none."""
    rows = list(rows)
    did = [hashlib.sha1(f"{check}|{entity_type}|{e}".encode()).hexdigest()[:16] for e, *_ in rows]
    n = len(rows)
    second = [r[4] if len(r) > 4 else None for r in rows]
    return pl.DataFrame(
        {
            "defect_id": did,
            "check_id": [check] * n,
            "entity_type": [entity_type] * n,
            "entity_id": [r[0] for r in rows],
            "correlation_id": [r[1] for r in rows],
            "impact_rc": [q2(Decimal(r[2])) for r in rows],
            "detail": [r[3] for r in rows],
            "expected_loss_rc": [None if x is None else q2(Decimal(x)) for x in second],
        },
        schema=KEY_SCHEMA,
    )


def rc(ctx: Ctx, cents: int, ccy: str, day: int) -> Decimal:
    """rc() of integer cents, rounded to cents."""
    return ctx.fx.rc_dec(cents_dec(cents), ccy, int(day))


def sow_effective(ctx: Ctx) -> pl.DataFrame:
    """Catalog sow_effective: executed amendments effective by as_of; last new_end/new_cap by amendment_no."""
    am = (
        ctx.t["amendment"]
        .filter((pl.col("status") == "executed") & (pl.col("effective_date") <= ctx.A))
        .sort("sow_id", "amendment_no")
    )
    agg = am.group_by("sow_id").agg(
        pl.col("value_delta").sum().alias("_vd"),
        pl.col("new_end_date").drop_nulls().last().alias("_ne"),
        pl.col("new_cap_amount").drop_nulls().last().alias("_nc"),
        pl.col("signed_date").max().alias("last_amendment_signed"),
    )
    c = ctx.t["contract"].select(
        "contract_id", pl.col("payment_terms_days").alias("_ct"), pl.col("po_required").alias("_po")
    )
    s = ctx.t["sow"].drop([x for x in ("_vd", "_ne", "_nc") if x in ctx.t["sow"].columns])
    return (
        s.join(c, on="contract_id", how="left")
        .join(agg, on="sow_id", how="left")
        .with_columns(
            eff_value=pl.col("value") + pl.col("_vd").fill_null(0),
            eff_end_date=pl.coalesce("_ne", "end_date"),
            eff_cap_amount=pl.coalesce("_nc", "cap_amount"),
            eff_payment_terms_days=pl.coalesce("payment_terms_days", "_ct"),
            eff_po_required=(pl.col("po_number").is_not_null() | pl.col("_po").fill_null(False)),
        )
    )


def bd_age(ctx: Ctx, days: np.ndarray) -> np.ndarray:
    """bd_diff(day, as_of)."""
    return ctx.cal.bd_diff(np.asarray(days, dtype=np.int64), np.full(len(days), ctx.A))


# ---------------------------------------------------------------- re-billing helpers (keep the books consistent)


def retotal(ctx: Ctx, invoice_ids: list[str]) -> None:
    """Recompute totals of changed invoices, drop empty ones (and their cash/CRM/events), trim payments, resync CRM."""
    if not invoice_ids:
        return
    ids_ = pl.Series(invoice_ids).implode()
    ln = (
        ctx.t["invoice_line"]
        .select("invoice_id", "amount", "tax_rate")
        .filter(pl.col("invoice_id").is_in(ids_))
        .with_columns(
            _tax=(pl.col("amount").cast(pl.Float64) * pl.col("tax_rate") + 0.5).floor().cast(pl.Int64)
        )
    )
    tot = ln.group_by("invoice_id").agg(
        pl.col("amount").sum().alias("_net"), pl.col("_tax").sum().alias("_tx")
    )
    old = ctx.t["invoice"].select(pl.col("invoice_id").alias("_invoice"), pl.col("amount_gross").alias("_og"))
    inv = ctx.t["invoice"].join(tot, on="invoice_id", how="left")
    changed = pl.col("invoice_id").is_in(ids_)
    empty = inv.filter(changed & pl.col("_net").is_null())["invoice_id"]
    inv = (
        inv.filter(~pl.col("invoice_id").is_in(empty.implode()))
        .with_columns(
            amount_net=pl.when(changed).then("_net").otherwise("amount_net"),
            tax_amount=pl.when(changed).then("_tx").otherwise("tax_amount"),
        )
        .with_columns(amount_gross=pl.col("amount_net") + pl.col("tax_amount"))
        .drop("_net", "_tx")
    )
    ctx.t["invoice"] = inv
    drop = empty.implode()
    pay = ctx.t["payment"].filter(~pl.col("_invoice").is_in(drop))
    # the customer pays what was billed: a fully paid invoice stays fully paid (last payment absorbs the change),
    # a partly paid one never ends up over-paid
    g = inv.select(pl.col("invoice_id").alias("_invoice"), pl.col("amount_gross").alias("_g"))
    pay = (
        pay.join(g, on="_invoice", how="left", maintain_order="left")
        .join(old, on="_invoice", how="left", maintain_order="left")
        .with_columns(
            _before=pl.col("amount").cum_sum().over("_invoice") - pl.col("amount"),
            _tot=pl.col("amount").sum().over("_invoice"),
            _is_last=pl.int_range(pl.len()).over("_invoice") == pl.len().over("_invoice") - 1,
        )
    )
    hit = pl.col("_invoice").is_in(ids_)
    full = pl.col("_tot") == pl.col("_og")
    pay = pay.with_columns(
        amount=pl.when(hit & full & pl.col("_is_last"))
        .then(pl.col("_g") - pl.col("_before"))
        .when(hit)
        .then(pl.min_horizontal("amount", pl.max_horizontal(pl.col("_g") - pl.col("_before"), 0)))
        .otherwise("amount")
    )
    ctx.t["payment"] = pay.filter(pl.col("amount") > 0).drop("_g", "_og", "_before", "_tot", "_is_last")
    for t in ("collection_action", "dispute"):
        ctx.t[t] = ctx.t[t].filter(~pl.col("invoice_id").is_in(drop))
    ctx.t["crm_invoice_status"] = ctx.t["crm_invoice_status"].filter(~pl.col("_invoice_id").is_in(drop))
    live_pay = ctx.t["payment"]["payment_id"].implode()
    ev = ctx.t["integration_event"]
    ctx.t["integration_event"] = ev.filter(
        ~((pl.col("entity_type") == "invoice") & pl.col("entity_id").is_in(drop))
        & ~((pl.col("entity_type") == "payment") & ~pl.col("entity_id").is_in(live_pay))
    )
    from ..cash import settle

    settle(ctx)
    resync_crm(ctx, invoice_ids)


def resync_crm(ctx: Ctx, invoice_ids: list[str]) -> None:
    """CRM mirrors the ERP for these invoices (amount, due date, status, paid) — the sync itself worked."""
    inv = (
        ctx.t["invoice"]
        .filter(pl.col("invoice_id").is_in(pl.Series(invoice_ids).implode()))
        .select(
            pl.col("invoice_id").alias("_invoice_id"),
            pl.col("amount_gross").alias("_a"),
            pl.col("due_date").alias("_d"),
            pl.col("amount_paid").alias("_p"),
            pl.col("type").alias("_ty"),
            pl.col("status").alias("_s"),
        )
    )
    c = ctx.t["crm_invoice_status"].join(inv, on="_invoice_id", how="left", maintain_order="left")
    hit = pl.col("_a").is_not_null()
    ctx.t["crm_invoice_status"] = c.with_columns(
        amount=pl.when(hit).then("_a").otherwise("amount"),
        due_date=pl.when(hit).then("_d").otherwise("due_date"),
        paid_amount=pl.when(hit).then("_p").otherwise("paid_amount"),
        status=pl.when(hit & (pl.col("_ty") == "invoice"))
        .then(pl.when(pl.col("_s") == "posted").then(pl.lit("open")).otherwise("_s"))
        .otherwise("status"),
    ).drop("_a", "_d", "_p", "_ty", "_s")


def unbill(ctx: Ctx, line_ids: list[str]) -> None:
    """Remove invoice lines (the item was never billed) and clear the source's invoice_line_id."""
    if not line_ids:
        return
    ids_ = pl.Series(line_ids).implode()
    hit = pl.col("invoice_line_id").is_in(ids_)
    inv = ctx.t["invoice_line"].select("invoice_line_id", "invoice_id").filter(hit)["invoice_id"]
    inv = inv.unique().to_list()
    ctx.filter_table("invoice_line", ~hit)
    for t in ("time_entry", "expense", "vendor_bill"):
        # a table none of whose rows point at these lines would be rewritten unchanged (a GB column at tier l)
        if ctx.t[t].select(hit.any()).item():
            ctx.t[t] = ctx.t[t].with_columns(
                invoice_line_id=pl.when(hit).then(None).otherwise("invoice_line_id")
            )
    retotal(ctx, inv)


def reprice(ctx: Ctx, line_ids: list[str], unit_price: list[int]) -> None:
    """Bill lines at another unit price (amount = quantity × price, rounded to cents) and re-total."""
    m = pl.DataFrame(
        {"invoice_line_id": line_ids, "_up": unit_price},
        schema={"invoice_line_id": pl.String, "_up": pl.Int64},
    )
    lines = ctx.t.pop("invoice_line")
    ints = all(lines.schema[c] == pl.Int64 for c in ("unit_price", "amount", "quantity"))
    if ints and not m["invoice_line_id"].is_duplicated().any():
        # the left join's result, written into the hit rows only (the join copies every line of every column)
        pos = positions(lines, "invoice_line_id", m).filter(pl.col("_up").is_not_null())
        amt = (lines["quantity"].gather(pos["_ri"]) * pos["_up"] + 50) // 100
        lines = lines.with_columns(lines["unit_price"].scatter(pos["_ri"], pos["_up"]))
        lines = lines.with_columns(lines["amount"].scatter(pos["_ri"], amt))
        del pos, amt
    else:
        lines = lines.join(m, on="invoice_line_id", how="left", maintain_order="left")
        hit = pl.col("_up").is_not_null()
        lines = lines.with_columns(
            unit_price=pl.when(hit).then("_up").otherwise("unit_price"),
            amount=pl.when(hit).then((pl.col("quantity") * pl.col("_up") + 50) // 100).otherwise("amount"),
        ).drop("_up")
    ctx.t["invoice_line"] = lines
    del lines
    inv = (
        ctx.t["invoice_line"]
        .select("invoice_line_id", "invoice_id")
        .filter(pl.col("invoice_line_id").is_in(m["invoice_line_id"].implode()))["invoice_id"]
    )
    retotal(ctx, inv.unique().to_list())


def fees_billed(ctx: Ctx, inv: pl.DataFrame, ccy: str) -> pl.DataFrame:
    """Σ amount (integer units) of the fee lines (all but expense and subcontract) on the invoices in inv
    (invoice_id, sow_id, ccy), as sow_id, ccy, _b. Summed a slice of lines at a time, then again: integer sums
    are the same, and the lines joined to their invoices never exist whole (GBs at tier l)."""
    return (
        by_slices(
            ctx.t["invoice_line"].select("invoice_id", "line_type", "amount"),
            lambda il: (
                il.filter(~pl.col("line_type").is_in(["expense", "subcontract"]))
                .join(inv, on="invoice_id")
                .group_by("sow_id", ccy)
                .agg(pl.col("amount").sum().alias("_b"))
            ),
        )
        .group_by("sow_id", ccy)
        .agg(pl.col("_b").sum())
    )


def live_invoices(ctx: Ctx) -> pl.DataFrame:
    """Invoices not draft/cancelled."""
    return ctx.t["invoice"].filter(~pl.col("status").is_in(["draft", "cancelled"]))


_ = DAY
