"""Delivery → bill and bill ↔ contract: Q2C-031, Q2C-035, Q2C-036, Q2C-038, Q2C-053, Q2C-056 (inject + evaluate).

Injections touch only "clean" lines (posted invoices that were never credited or re-billed) and keep the books
consistent (base.unbill / reprice / retotal). Every evaluator applies the rule's condition to the final tables.

Q2C-031 — 2 % of acceptance-triggered milestone lines: acceptance recorded 3-20 days after the invoice date (or never,
  when that is after as_of). Entity invoice_line (posted 'invoice'); impact_rc = rc(line amount, inv ccy, invoice_date).
Q2C-035 — 7 % of re-billed expense lines approved > 30 days ago (small amounts weighted up) dropped from their invoice.
  Entity expense: billable, approved, no invoice line, SOW expense_rebillable, age = as_of − approved_at::DATE > 30;
  impact_rc = rebill_rc = rc(ROUND(amount × (1 + markup), 2), ccy, as_of); expected_loss_rc ROUND(rebill_rc × p_leak(age), 2).
Q2C-036 — 1.5 % of re-billed expense lines billed with a wrong markup (+5/10/15 points). Entity invoice_line on posted
  'invoice' invoices: SOW not re-billable or category not allowed (impact = line) or same currency and
  |billed − ROUND(amount × (1 + markup), 2)| > 0.01 (impact = that difference), rc at (inv ccy, invoice_date); plus
  entity sow when Σ expense lines > expense_cap: rc(Σ − cap, sow ccy, as_of).
Q2C-038 — 0.1 % of time lines re-appear on the project's next invoice (regeneration). Entity billed_item
  'line_type:source_id' over posted, uncredited 'invoice' invoices with > 1 distinct invoice;
  impact_rc = Σ rc(line amount, ccy, invoice_date) − the largest one.
Q2C-053 — 2 % of fixed/retainer schedule lines due > 3 business days ago dropped from their invoice. Entity
  schedule_line: not_invoiced → impact_rc rc(amount, ccy, bill_date), expected_loss_rc ROUND(that × p_leak(as_of −
  bill_date), 2); invoiced amount differs (Σ fixed/retainer/milestone lines on posted 'invoice' invoices) →
  rc(|Σ − amount|, ccy, bill_date), no expected loss.
Q2C-050 — 1.5 % of capped SOWs (fees at 70-100 % of the cap): an approved manual adjustment on the
  last invoice takes fees 1-8 % over the cap; evaluated in delivery.py.
Q2C-056 — 0.2 % of invoice lines: a manual 'adjustment' line (1-5 % of the invoice net) without reason code or
  approver. Entity invoice_line on posted invoices whose source record is missing or an unapproved adjustment;
  impact_rc = rc(|amount|, inv ccy, invoice_date).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..calc import DAY
from ..ctx import Ctx
from .base import bd_age, fees_billed, pick, rate, reprice, retotal, sow_effective, unbill

LIVE = ~pl.col("status").is_in(["draft", "cancelled"])


def _clean_lines(
    ctx: Ctx, line_type: str, cols: list[str], lines: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Lines of one type on posted invoices that were never credited or re-billed (these line columns only).

    The line's own project_id always comes along, so the invoice's stays project_id_right as in a full-width join.
    """
    inv = ctx.t["invoice"].filter(
        LIVE
        & (pl.col("type") == "invoice")
        & ~pl.col("_credited").fill_null(False)
        & pl.col("_rebill_of").is_null()
    )
    keep = list(dict.fromkeys(["invoice_id", "line_type", "project_id", *cols]))
    return (
        ctx.t["invoice_line"]
        .select(keep)
        .filter(pl.col("line_type") == line_type)
        .join(
            inv.select("invoice_id", "project_id", "invoice_date", pl.col("currency").alias("_iccy")),
            on="invoice_id",
        )
    )


def _new_line_ids(ctx: Ctx, n: int) -> list[str]:
    """Fresh invoice-line ids after the largest one in use."""
    top = int(ctx.t["invoice_line"]["invoice_line_id"].cast(pl.Int64).max())
    return [str(top + 1 + i) for i in range(n)]


def inject(ctx: Ctx) -> None:
    """Mutate billing: unbilled expenses and schedule lines, mispriced expenses, early, duplicate and manual lines."""
    rng = ctx.child_rng("inject-bill")
    # 035
    ex = ctx.t["expense"].filter(
        pl.col("billable")
        & (pl.col("approval_status") == "approved")
        & (ctx.A - pl.col("approved_at") // DAY > 31)
    )
    all_el = _clean_lines(ctx, "expense", ["invoice_line_id", "source_id", "amount", "unit_price"])
    el = all_el.join(ex.select(pl.col("expense_id").alias("source_id")), on="source_id")
    p35 = min(
        1.0, rate(ctx, "Q2C-035") * all_el.height / max(el.height, 1)
    )  # §D.2: 7 % of all re-billed lines
    a35 = pick(ctx, el, "Q2C-035", weight=1 / np.sqrt(el["amount"].to_numpy().clip(100)), p=p35)
    # 036 on the other expense lines
    a36 = pick(ctx, all_el.join(a35.select("invoice_line_id"), on="invoice_line_id", how="anti"), "Q2C-036")
    bump = 1 + rng.choice([0.05, 0.10, 0.15], a36.height)
    # 053
    bs = ctx.t["billing_schedule"].filter(pl.col("line_type").is_in(["fixed", "retainer"]))
    due = bs.filter(pl.Series(bd_age(ctx, bs["bill_date"].to_numpy()) > 4))["schedule_line_id"].implode()
    cols = ["invoice_line_id", "source_id"]
    fl = pl.concat([_clean_lines(ctx, "fixed", cols), _clean_lines(ctx, "retainer", cols)]).filter(
        pl.col("source_id").is_in(due)
    )
    a53 = pick(ctx, fl, "Q2C-053")
    unbill(ctx, a35["invoice_line_id"].to_list() + a53["invoice_line_id"].to_list())  # one re-total for both
    prices = np.round(a36["unit_price"].to_numpy() * bump).astype(np.int64).tolist()
    reprice(ctx, a36["invoice_line_id"].to_list(), prices)
    _early_acceptance(ctx, rng)
    ct = _clean_time(
        ctx
    )  # adjustments add no time lines and no step below touches the invoices before retotal
    touched = _adjustments(ctx, rng, ct) + _over_cap(ctx, rng, ct) + _twice(ctx, rng, ct)
    del ct
    retotal(ctx, sorted(set(touched)))


def _clean_time(ctx: Ctx) -> pl.DataFrame:
    """The time lines _clean_lines gives, in the same order, as key columns and row number only.

    A filter on the clean invoices' ids keeps the lines' order, as the join does with the lines probing; dates
    come per invoice where needed. Every column of ten million time lines joined to their invoice is GBs.
    """
    clean = ctx.t["invoice"].filter(
        LIVE
        & (pl.col("type") == "invoice")
        & ~pl.col("_credited").fill_null(False)
        & pl.col("_rebill_of").is_null()
    )["invoice_id"]
    return (
        ctx.t["invoice_line"]
        .select("invoice_id", "line_type", "project_id", "invoice_line_id")
        .with_row_index("_ri")
        .filter((pl.col("line_type") == "time") & pl.col("invoice_id").is_in(clean.implode()))
        .drop("line_type")
    )


def _early_acceptance(ctx: Ctx, rng: np.random.Generator) -> None:
    ms = ctx.t["milestone"].filter(
        (pl.col("billing_trigger") == "acceptance") & pl.col("accepted_date").is_not_null()
    )
    ml = _clean_lines(ctx, "milestone", ["source_id"]).join(
        ms.select(pl.col("milestone_id").alias("source_id")), on="source_id"
    )
    a = pick(ctx, ml, "Q2C-031")
    acc = a["invoice_date"].to_numpy() + rng.integers(3, 21, a.height)
    m = pl.DataFrame(
        {"milestone_id": a["source_id"], "_acc": acc}, schema={"milestone_id": pl.String, "_acc": pl.Int64}
    )
    ctx.t["milestone"] = (
        ctx.t["milestone"]
        .join(m, on="milestone_id", how="left", maintain_order="left")
        .with_columns(
            accepted_date=pl.when(pl.col("_acc").is_null())
            .then("accepted_date")
            .when(pl.col("_acc") <= ctx.A)
            .then("_acc")
            .otherwise(None),
            status=pl.when(pl.col("_acc").is_not_null() & (pl.col("_acc") > ctx.A))
            .then(pl.lit("completed"))
            .otherwise("status"),
        )
        .drop("_acc")
    )


def _add_adjustments(
    ctx: Ctx, src: pl.DataFrame, amt: np.ndarray, reason: str | None, approver: str | None
) -> list[str]:
    """One 'adjustment' line per src row (copying a sibling line's tax, period, lineage); returns invoices to re-total."""
    lines = ctx.t["invoice_line"]
    top = lines.group_by("invoice_id").agg(pl.col("line_no").max().alias("_n"))
    new = (
        src.join(top, on="invoice_id", maintain_order="left")
        .with_columns(
            invoice_line_id=pl.Series(_new_line_ids(ctx, src.height)),
            line_no=pl.col("_n") + 1,
            line_type=pl.lit("adjustment"),
            source_id=pl.lit(None, pl.String),
            role=pl.lit(None, pl.String),
            quantity=pl.lit(100, pl.Int64),
            unit_price=pl.Series(amt, dtype=pl.Int64),
            amount=pl.Series(amt, dtype=pl.Int64),
            reason_code=pl.lit(reason, pl.String),
            approved_by=pl.lit(approver, pl.String),
        )
        .select(lines.columns)
    )
    del lines, top
    ctx.append_rows("invoice_line", new)
    return new["invoice_id"].unique().to_list()


def _adjustments(ctx: Ctx, rng: np.random.Generator, ct: pl.DataFrame) -> list[str]:
    k = int(rng.binomial(ctx.t["invoice_line"].height, min(1.0, 0.002 * ctx.defect_scale)))
    # the first clean time line of each invoice, found by row number on the key columns and fetched whole after
    lines = ctx.t["invoice_line"].with_row_index("_ri")
    cand = ct.group_by("invoice_id").agg(pl.first("_ri")).sort("invoice_id")
    if not k or not cand.height:
        return []
    pick_ri = cand["_ri"].gather(np.sort(rng.choice(cand.height, min(k, cand.height), replace=False)))
    src = lines.filter(pl.col("_ri").is_in(pick_ri.implode())).sort("_ri")
    src = pick_ri.to_frame().join(src, on="_ri", maintain_order="left").drop("_ri")
    del lines
    src = src.join(
        ctx.t["invoice"].select("invoice_id", "amount_net"), on="invoice_id", maintain_order="left"
    )
    amt = np.maximum(np.round(src["amount_net"].to_numpy() * rng.uniform(0.01, 0.05, src.height)), 100)
    return _add_adjustments(ctx, src.drop("amount_net"), amt.astype(np.int64), None, None)


def _over_cap(ctx: Ctx, rng: np.random.Generator, ct: pl.DataFrame) -> list[str]:
    """050: an approved manual adjustment on the last invoice of a nearly consumed cap pushes fees 1-8 % over it."""
    se = sow_effective(ctx).filter(pl.col("eff_cap_amount").is_not_null() & (pl.col("eff_cap_amount") > 0))
    inv = (
        ctx.t["invoice"]
        .filter(LIVE & (pl.col("type") == "invoice") & ~pl.col("_credited").fill_null(False))
        .select("invoice_id", "sow_id", pl.col("currency").alias("_iccy"))
    )
    # a SOW has one row in the candidates below, so their order does not depend on the sums' order
    fees = fees_billed(ctx, inv, "_iccy")
    # each project's last clean time line by (invoice_date, line id) sits on the invoice whose date and highest
    # line id come last: found per invoice (an invoice's lines all carry its project) instead of per line
    last = (
        ct.group_by("invoice_id")
        .agg(pl.first("project_id"), pl.col("invoice_line_id").max())
        .join(ctx.t["invoice"].select("invoice_id", "invoice_date"), on="invoice_id", how="left")
        .sort("invoice_date", "invoice_line_id")
        .group_by("project_id")
        .last()
    )
    cand = (
        se.join(fees, left_on=["sow_id", "currency"], right_on=["sow_id", "_iccy"])
        .filter((pl.col("_b") >= pl.col("eff_cap_amount") * 0.7) & (pl.col("_b") <= pl.col("eff_cap_amount")))
        .join(ctx.t["project"].select("project_id", "sow_id"), on="sow_id")
        .join(last.select("project_id", "invoice_id"), on="project_id")
        .filter(
            pl.col("invoice_id").is_in(
                ctx.t["invoice"].filter(pl.col("currency").is_not_null())["invoice_id"].implode()
            )
        )
        .sort("sow_id")
        .unique("sow_id", keep="first", maintain_order=True)
    )
    a = pick(ctx, cand, "Q2C-050", p=min(1.0, rate(ctx, "Q2C-050") * se.height / max(cand.height, 1)))
    if not a.height:
        return []
    cap = a["eff_cap_amount"].to_numpy()
    amt = cap - a["_b"].to_numpy() + np.round(cap * rng.uniform(0.01, 0.08, a.height)).astype(np.int64)
    src = (
        ctx.t["invoice_line"]
        .join(a.select("invoice_id"), on="invoice_id")
        .group_by("invoice_id", maintain_order=True)
        .first()
    )
    src = a.select("invoice_id").join(src, on="invoice_id", maintain_order="left")
    return _add_adjustments(ctx, src, amt, "cap_overrun_billing", "billing.manager")


def _twice(ctx: Ctx, rng: np.random.Generator, ct: pl.DataFrame) -> list[str]:
    tl = ct
    a = pick(
        ctx,
        tl,
        "Q2C-038",
        p=min(1.0, 0.001 * ctx.defect_scale * ctx.t["invoice_line"].height / max(tl.height, 1)),
    )
    nxt = (
        ct.group_by("invoice_id")
        .agg(pl.first("project_id"))
        .join(ctx.t["invoice"].select("invoice_id", "invoice_date"), on="invoice_id", how="left")
        .sort("project_id", "invoice_date", "invoice_id")
        .with_columns(_next=pl.col("invoice_id").shift(-1).over("project_id"))
    )
    del tl
    a = a.join(nxt.select("invoice_id", "_next"), on="invoice_id").filter(pl.col("_next").is_not_null())
    if not a.height:
        return []
    lines = ctx.t["invoice_line"]
    top = lines.group_by("invoice_id").agg(pl.col("line_no").max().alias("_n"))
    dup = (
        lines.join(a.select("invoice_line_id", "_next"), on="invoice_line_id")
        .sort("invoice_line_id")
        .with_columns(invoice_id=pl.col("_next"), invoice_line_id=pl.Series(_new_line_ids(ctx, a.height)))
        .join(top, on="invoice_id", maintain_order="left")
        .with_columns(line_no=pl.col("_n") + pl.int_range(1, pl.len() + 1).over("invoice_id"))
        .select(lines.columns)
    )
    del lines, top
    ctx.append_rows("invoice_line", dup)
    return dup["invoice_id"].unique().to_list()


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 031, 035, 036, 038, 053, 056."""
    from .bill_eval import evaluate as ev

    return ev(ctx)
