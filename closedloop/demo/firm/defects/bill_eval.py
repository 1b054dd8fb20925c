"""Answer key for defects/bill.py: Q2C-031, 035, 036, 038, 053, 056 evaluated on the final tables (see bill.py)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from ..calc import DAY, p_leak_dec
from ..ctx import Ctx
from ..frames import hash_parts
from .base import bd_age, key, rc, sow_effective

LIVE = ~pl.col("status").is_in(["draft", "cancelled"])


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 031, 035, 036, 038, 053, 056."""
    se = sow_effective(ctx)
    if "expense_cap" not in se.columns:  # working tables only carry the columns the generator set
        se = se.with_columns(expense_cap=pl.lit(None, pl.Int64))
    return pl.concat([_031(ctx), _035(ctx, se), _036(ctx, se), _038(ctx), _053(ctx), _056(ctx)])


def _lines(
    ctx: Ctx,
    cols: list[str],
    types: list[str] | None = None,
    invoices_only: bool = True,
    where: pl.Expr | None = None,
) -> pl.DataFrame:
    """Lines (of these types, meeting `where` on line columns) on posted invoices (type 'invoice' only unless
    told), with these line columns.

    Each check takes only the lines and columns it reads: all lines joined to their invoice is GBs at tier l.
    """
    inv = ctx.t["invoice"].filter(LIVE)
    il = ctx.t["invoice_line"].select(list(dict.fromkeys(["invoice_id", "line_type", *cols])))
    if types is not None:
        il = il.filter(pl.col("line_type").is_in(types))
    if where is not None:
        il = il.filter(where)
    j = il.join(
        inv.select(
            "invoice_id",
            "invoice_date",
            "sow_id",
            pl.col("type").alias("_ity"),
            pl.col("currency").alias("_iccy"),
            pl.col("correlation_id").alias("_icid"),
        ),
        on="invoice_id",
    )
    return j.filter(pl.col("_ity") == "invoice") if invoices_only else j


def _rc_rows(ctx: Ctx, df: pl.DataFrame, id_col: str, cents: str, ccy: str, day: str) -> list:
    v = ctx.fx.rc_units(df[cents].to_numpy(), 2, df[ccy], df[day].to_numpy())
    return [(e, c, Decimal(int(x)) / 100, "") for e, c, x in zip(df[id_col], df["_icid"], v, strict=True)]


def _031(ctx: Ctx) -> pl.DataFrame:
    ms = ctx.t["milestone"].filter(pl.col("billing_trigger") == "acceptance")
    j = (
        _lines(ctx, ["invoice_line_id", "source_id", "amount"], ["milestone"])
        .join(ms.select(pl.col("milestone_id").alias("source_id"), "accepted_date"), on="source_id")
        .filter(pl.col("accepted_date").is_null() | (pl.col("invoice_date") < pl.col("accepted_date")))
        .sort("invoice_line_id")
    )
    return key(
        "Q2C-031", "invoice_line", _rc_rows(ctx, j, "invoice_line_id", "amount", "_iccy", "invoice_date")
    )


def _rebill_cents(amount: np.ndarray, markup: np.ndarray) -> np.ndarray:
    """ROUND(amount × (1 + markup), 2) as DuckDB computes it on DOUBLE (std::round, half away from zero)."""
    x = amount / 100 * (1 + markup) * 100
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def _035(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    billed = (
        ctx.t["invoice_line"].filter(pl.col("line_type") == "expense")["source_id"].drop_nulls().implode()
    )
    e = (
        ctx.t["expense"]
        .filter(
            pl.col("billable")
            & (pl.col("approval_status") == "approved")
            & pl.col("invoice_line_id").is_null()
            & ~pl.col("expense_id").is_in(billed)
        )
        .join(ctx.t["project"].select("project_id", "sow_id"), on="project_id")
        .join(se.select("sow_id", "expense_rebillable", "expense_markup_pct"), on="sow_id")
        .filter(pl.col("expense_rebillable").fill_null(False))
        .with_columns(_age=ctx.A - pl.col("approved_at") // DAY)
        .filter(pl.col("_age") > 30)
        .sort("expense_id")
    )
    reb = _rebill_cents(e["amount"].to_numpy(), e["expense_markup_pct"].fill_null(0).to_numpy())
    v = ctx.fx.rc_units(reb, 2, e["currency"], np.full(e.height, ctx.A))
    rows = []
    for r, x in zip(e.iter_rows(named=True), v, strict=True):
        rebill = Decimal(int(x)) / 100
        rows.append(
            (
                r["expense_id"],
                r["correlation_id"],
                rebill,
                f"age={r['_age']}",
                rebill * p_leak_dec(int(r["_age"])),
            )
        )
    return key("Q2C-035", "expense", rows)


def _036(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    c = ctx.t["contract"].select("contract_id", pl.col("expense_policy_id").alias("_cpol"))
    s = se.join(c, on="contract_id", how="left").select(
        "sow_id",
        "expense_rebillable",
        "expense_markup_pct",
        "expense_cap",
        pl.coalesce("expense_policy_id", "_cpol").alias("_pol"),
    )
    pol = ctx.t["expense_policy_rule"].select(pl.col("policy_id").alias("_pol"), "category", "allowed")
    j = (
        # the line's own project_id comes along: the expense's joins as project_id_right, as in a full-width join
        _lines(ctx, ["invoice_line_id", "source_id", "amount", "project_id"], ["expense"])
        .join(
            ctx.t["expense"].select(
                pl.col("expense_id").alias("source_id"),
                "project_id",
                "category",
                pl.col("amount").alias("_ea"),
                pl.col("currency").alias("_eccy"),
            ),
            on="source_id",
        )
        .drop("sow_id")
        .join(ctx.t["project"].select("project_id", "sow_id"), on="project_id")
        .join(s, on="sow_id")
        .join(pol, on=["_pol", "category"], how="left")
    )
    exp = _rebill_cents(j["_ea"].to_numpy(), j["expense_markup_pct"].fill_null(0).to_numpy())
    j = j.with_columns(_exp=pl.Series(exp))
    bad_whole = ~pl.col("expense_rebillable").fill_null(False) | (pl.col("allowed") == False)  # noqa: E712
    markup = (pl.col("_iccy") == pl.col("_eccy")) & ((pl.col("amount") - pl.col("_exp")).abs() > 1)
    j = (
        j.with_columns(_w=bad_whole.fill_null(False), _m=markup.fill_null(False))
        .filter(pl.col("_w") | pl.col("_m"))
        .with_columns(_over=pl.when("_w").then("amount").otherwise((pl.col("amount") - pl.col("_exp")).abs()))
        .sort("invoice_line_id")
    )
    out = [
        key("Q2C-036", "invoice_line", _rc_rows(ctx, j, "invoice_line_id", "_over", "_iccy", "invoice_date"))
    ]
    cap = (
        # the line's own correlation_id comes along: the SOW's joins as correlation_id_right, as before
        _lines(ctx, ["amount", "correlation_id"], ["expense"])
        .join(se.select("sow_id", "expense_cap", "currency", "correlation_id"), on="sow_id")
        .filter(pl.col("expense_cap").is_not_null() & (pl.col("_iccy") == pl.col("currency")))
        .group_by("sow_id", "currency", "expense_cap", "correlation_id")
        .agg(pl.col("amount").sum().alias("_b"))
        .filter(pl.col("_b") > pl.col("expense_cap"))
        .sort("sow_id")
    )
    out.append(
        key(
            "Q2C-036",
            "sow",
            [
                (
                    r["sow_id"],
                    r["correlation_id"],
                    rc(ctx, r["_b"] - r["expense_cap"], r["currency"], ctx.A),
                    "cap",
                )
                for r in cap.iter_rows(named=True)
            ],
        )
    )
    return pl.concat(out)


def _038(ctx: Ctx) -> pl.DataFrame:
    cn = ctx.t["invoice"].filter((pl.col("type") == "credit_note") & (pl.col("status") != "cancelled"))
    types = ["time", "expense", "milestone", "fixed", "retainer", "subcontract"]
    where = pl.col("source_id").is_not_null() & ~pl.col("invoice_id").is_in(
        cn["source_ref"].drop_nulls().implode()
    )
    # items on more than one invoice, found from the three key columns of the lines; only their lines are then
    # fetched with amounts and invoice details
    posted = ctx.t["invoice"].filter(LIVE & (pl.col("type") == "invoice")).select("invoice_id")
    lines = ctx.t["invoice_line"].select("invoice_id", "line_type", "source_id")

    def multi_part(part: pl.Expr) -> pl.DataFrame:
        return (
            lines.filter(pl.col("line_type").is_in(types) & where & part)
            .join(posted, on="invoice_id")
            .group_by("line_type", "source_id")
            .agg(pl.col("invoice_id").n_unique().alias("_k"))
            .filter(pl.col("_k") > 1)
        )

    # grouped a hash-part of the source ids at a time: every line of an item falls in the same part
    multi = pl.concat([multi_part(p) for p in hash_parts("source_id", lines.height)])
    where = where & pl.col("source_id").is_in(multi["source_id"].implode())
    j = _lines(ctx, ["source_id", "amount"], types, where=where)
    j = j.join(multi.select("line_type", "source_id"), on=["line_type", "source_id"])
    v = ctx.fx.rc_units(j["amount"].to_numpy(), 2, j["_iccy"], j["invoice_date"].to_numpy())
    j = j.with_columns(
        _rc=pl.Series(v, dtype=pl.Int64), _item=pl.col("line_type") + ":" + pl.col("source_id")
    )
    g = (
        j.group_by("_item")
        .agg(
            pl.col("invoice_id").n_unique().alias("_n"),
            pl.col("_rc").sum().alias("_s"),
            pl.col("_rc").max().alias("_m"),
            pl.col("_icid").min(),
        )
        .filter(pl.col("_n") > 1)
        .sort("_item")
    )
    rows = [
        (r["_item"], r["_icid"], Decimal(int(r["_s"] - r["_m"])) / 100, f"n={r['_n']}")
        for r in g.iter_rows(named=True)
    ]
    return key("Q2C-038", "billed_item", rows)


def _053(ctx: Ctx) -> pl.DataFrame:
    inv = (
        _lines(ctx, ["source_id", "amount"], ["fixed", "retainer", "milestone"])
        .group_by("source_id")
        .agg(pl.col("amount").sum().alias("_inv"))
    )
    b = ctx.t["billing_schedule"].filter(pl.col("line_type").is_in(["fixed", "retainer"]))
    b = b.filter(pl.Series(bd_age(ctx, b["bill_date"].to_numpy()) > 3))
    b = (
        b.join(inv, left_on="schedule_line_id", right_on="source_id", how="left")
        .filter(pl.col("_inv").is_null() | ((pl.col("_inv") - pl.col("amount")).abs() > 1))
        .sort("schedule_line_id")
    )
    rows = []
    for r in b.iter_rows(named=True):
        if r["_inv"] is None:
            base = rc(ctx, r["amount"], r["currency"], r["bill_date"])
            rows.append(
                (
                    r["schedule_line_id"],
                    r["correlation_id"],
                    base,
                    "not_invoiced",
                    base * p_leak_dec(ctx.A - r["bill_date"]),
                )
            )
        elif abs(r["_inv"] - r["amount"]) > 1:
            imp = rc(ctx, abs(r["_inv"] - r["amount"]), r["currency"], r["bill_date"])
            rows.append((r["schedule_line_id"], r["correlation_id"], imp, "amount_mismatch"))
    return key("Q2C-053", "schedule_line", rows)


def _056(ctx: Ctx) -> pl.DataFrame:
    known = {
        "expense": ctx.t["expense"]["expense_id"],
        "milestone": ctx.t["milestone"]["milestone_id"],
        "fixed": ctx.t["billing_schedule"]["schedule_line_id"],
        "retainer": ctx.t["billing_schedule"]["schedule_line_id"],
        "subcontract": ctx.t["vendor_bill"]["vendor_bill_id"],
    }
    miss = pl.lit(False)
    for lt, ids_ in known.items():
        miss = miss | (
            (pl.col("line_type") == lt) & ~pl.col("source_id").is_in(ids_.implode()).fill_null(False)
        )
    # time lines whose entry is gone: an anti-join per hash-part of the ids instead of a set of every entry id
    # (a time line without a source id counts as missing, as is_in's null, filled False and negated, makes it)
    lines = ctx.t["invoice_line"].select("invoice_line_id", "line_type", "source_id")
    entries = ctx.t["time_entry"].select(pl.col("time_entry_id").alias("source_id"))
    time = pl.col("line_type") == "time"
    gone = [lines.filter(time & pl.col("source_id").is_null())["invoice_line_id"]]
    for part in hash_parts("source_id", max(lines.height, entries.height)):
        left = lines.filter(time & pl.col("source_id").is_not_null() & part)
        gone.append(left.join(entries.filter(part), on="source_id", how="anti")["invoice_line_id"])
    miss = miss | (time & pl.col("invoice_line_id").is_in(pl.concat(gone).implode()))
    adj = (pl.col("line_type") == "adjustment") & (
        pl.col("reason_code").is_null() | pl.col("approved_by").is_null()
    )
    # a row filter on line columns: applied before the join to the invoices, on the lines it reads
    j = _lines(
        ctx,
        ["invoice_line_id", "source_id", "amount", "reason_code", "approved_by"],
        invoices_only=False,
        where=miss | adj,
    )
    j = j.with_columns(_abs=pl.col("amount").abs()).sort("invoice_line_id")
    return key(
        "Q2C-056", "invoice_line", _rc_rows(ctx, j, "invoice_line_id", "_abs", "_iccy", "invoice_date")
    )
