"""Terms, milestones and AR: Q2C-024, Q2C-030, Q2C-055, Q2C-073, Q2C-074, Q2C-075.

Q2C-024 — 5 % of fully paid invoices carry the customer-master terms (+15 or +30 days) instead of the contract's;
  due_date moves with them (CRM mirrors it). impact_rc = rc(amount_gross, ccy, invoice_date); expected_loss_rc (cost
  of the delay) = ROUND(impact_rc × max(Δdays, 0) × coc/365, 2); entity invoice. Compared against
  sow_effective.eff_payment_terms_days (SOW terms, else MSA terms).
Q2C-030 — acceptance-trigger milestones accepted > 5 bd before as_of and never invoiced: 15 % of those accepted in
  the last 60 days, 3 % of older ones (the invoice is removed). impact_rc = rc(amount, ccy, accepted_date),
  expected_loss_rc = ROUND(impact_rc × p_leak(as_of − accepted_date), 2) (leakage part of the card; cash-delay part
  omitted); entity milestone.
  Co-trip: Q2C-083 may fire for the SOW (revenue recognised at acceptance) — not evaluated here.
Q2C-055 — 4 % of invoices of SOWs with a PO (eff_po_required) are issued without po_number.
  impact_rc = rc(amount_gross, ccy, invoice_date); expected_loss_rc = ROUND(impact_rc × 30 × coc / 365, 2) (30 d
  dispute delay); entity invoice.
Q2C-073 — (a) 3 % of payments received > 5 days before as_of left unapplied (invoice_id NULL): impact
  rc(amount, ccy, received_date), entity payment; (b) 2 % of paid invoices short-paid by 1-10 % (> 1.00 residual,
  due_date < as_of): impact rc(amount_gross − Σ payments, ccy, invoice_date), entity invoice. At most one
  payment per invoice is left unapplied; it is about its invoice's open amount (notes unapplied_for, money_piece),
  the same money as a short payment of that invoice: one case, counted once. Payments here are the
  applied ones; a credited invoice is settled by its credit note, not by payments (never short-paid).
  AR chases the now-open invoices (collection action at due + 10), so Q2C-074 does not co-trip.
Q2C-074 — 20 % of invoices > 15 days past due and open lose their collection actions (no open dispute).
  impact_rc = rc(open, ccy, invoice_date), expected_loss_rc = ROUND(impact_rc × p_leak(as_of − due_date), 2); entity
  invoice. open = gross − amount_paid. FX at the invoice's own date (as every invoice-valued check), not as_of.
Q2C-075 — 10 % of credit notes have no credit_reason_code. impact_rc = rc(amount_net, ccy, invoice_date);
  entity invoice (the credit note).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from ..calc import p_leak_dec
from ..ctx import Ctx
from .base import COC, bd_age, key, pick, rc, resync_crm, sloppy, sow_effective, unbill


def inject(ctx: Ctx) -> None:
    """Mutate invoices, milestones and cash."""
    rng = ctx.child_rng("inject-ar")
    inv = ctx.t["invoice"]
    plain = (
        (pl.col("type") == "invoice") & ~pl.col("_credited").fill_null(False) & pl.col("_rebill_of").is_null()
    )
    paid = inv.filter(plain & (pl.col("status") == "paid"))
    a = pick(ctx, paid, "Q2C-024", weight=sloppy(ctx, paid))
    extra = dict(zip(a["invoice_id"].to_list(), rng.choice([15, 30], a.height).tolist(), strict=True))
    inv = (
        inv.with_columns(_x=pl.col("invoice_id").replace_strict(extra, default=0, return_dtype=pl.Int64))
        .with_columns(
            payment_terms_days=pl.col("payment_terms_days") + pl.col("_x"),
            due_date=pl.col("due_date") + pl.col("_x"),
        )
        .drop("_x")
    )
    po = inv.filter(
        plain & pl.col("po_number").is_not_null() & ~pl.col("invoice_id").is_in(a["invoice_id"].implode())
    )
    b = pick(ctx, po, "Q2C-055", weight=sloppy(ctx, po))
    inv = inv.with_columns(
        po_number=pl.when(pl.col("invoice_id").is_in(b["invoice_id"].implode()))
        .then(None)
        .otherwise("po_number")
    )
    cn = inv.filter(pl.col("type") == "credit_note")
    c = pick(ctx, cn, "Q2C-075")
    ctx.t["invoice"] = inv.with_columns(
        credit_reason_code=pl.when(pl.col("invoice_id").is_in(c["invoice_id"].implode()))
        .then(None)
        .otherwise("credit_reason_code")
    )
    resync_crm(ctx, a["invoice_id"].to_list())
    _milestones(ctx)
    _cash(ctx, rng)


def _milestones(ctx: Ctx) -> None:
    ms = ctx.t["milestone"].filter(
        (pl.col("billing_trigger") == "acceptance") & pl.col("accepted_date").is_not_null()
    )
    ms = ms.filter(pl.Series(bd_age(ctx, ms["accepted_date"].to_numpy()) > 5))
    recent = ms.filter(pl.col("accepted_date") > ctx.A - 60)
    old = ms.filter(pl.col("accepted_date") <= ctx.A - 60)
    ch = pl.concat(
        [pick(ctx, recent, "Q2C-030"), pick(ctx, old, "Q2C-030", p=min(1.0, 0.03 * ctx.defect_scale))]
    )
    il = ctx.t["invoice_line"].filter(
        (pl.col("line_type") == "milestone") & pl.col("source_id").is_in(ch["milestone_id"].implode())
    )
    unbill(ctx, il["invoice_line_id"].to_list())


def _cash(ctx: Ctx, rng: np.random.Generator) -> None:
    pay = ctx.t["payment"]
    elig = pay.filter(pl.col("invoice_id").is_not_null() & (pl.col("received_date") < ctx.A - 5))
    # at most one unapplied payment per invoice: the rest of the invoice stays settled, so the invoice's open
    # amount is that payment, the money the rule's probable invoice names (money_piece 'open:<invoice>')
    u = pick(ctx, elig, "Q2C-073").unique("_invoice", keep="first", maintain_order=True)
    uid = u["payment_id"].implode()
    pay = pay.with_columns(
        invoice_id=pl.when(pl.col("payment_id").is_in(uid)).then(None).otherwise("invoice_id"),
        applied_date=pl.when(pl.col("payment_id").is_in(uid)).then(None).otherwise("applied_date"),
    )
    inv = ctx.t["invoice"]
    paid = inv.filter(
        (pl.col("type") == "invoice")
        & (pl.col("status") == "paid")
        & ~pl.col("_credited").fill_null(False)
        & (pl.col("due_date") < ctx.A)
        & ~pl.col("invoice_id").is_in(u["_invoice"].implode())
    )
    s = pick(ctx, paid, "Q2C-073", p=min(1.0, 0.02 * ctx.defect_scale))
    resid = (s["amount_gross"].to_numpy() * rng.uniform(0.01, 0.10, s.height)).astype(np.int64) + 101
    cut = dict(zip(s["invoice_id"].to_list(), resid.tolist(), strict=True))
    last = (
        pay.filter(pl.col("invoice_id").is_in(s["invoice_id"].implode()))
        .group_by("invoice_id")
        .agg(pl.col("payment_id").last())
    )
    lastmap = {p: cut[i] for i, p in zip(last["invoice_id"], last["payment_id"], strict=True)}
    pay = pay.with_columns(
        amount=pl.col("amount")
        - pl.col("payment_id").replace_strict(lastmap, default=0, return_dtype=pl.Int64)
    )
    ctx.t["payment"] = pay.filter(pl.col("amount") > 0)
    touched = u["_invoice"].to_list() + s["invoice_id"].to_list()
    from ..cash import settle

    settle(ctx)
    resync_crm(ctx, touched)
    # AR chases what just became open; then drop the chasing on 20 % of overdue open invoices (074)
    inv = ctx.t["invoice"]
    t = inv.filter(
        pl.col("invoice_id").is_in(pl.Series(touched).implode())
        & (pl.col("status") != "paid")
        & (pl.col("due_date") + 10 <= ctx.A)
    )
    ca = ctx.t["collection_action"]
    add = t.select(
        "invoice_id",
        "correlation_id",
        action_type=pl.lit("reminder_email"),
        action_date=pl.col("due_date") + 10,
        source_system=pl.lit("netsuite"),
        source_id=pl.concat_str(["invoice_id", pl.lit(":late")]),
    )
    ca = pl.concat([ca, add.select(ca.columns)])
    disputed = ctx.t["dispute"].filter(pl.col("closed").is_null())["invoice_id"].implode()
    od = inv.filter(
        (pl.col("type") == "invoice")
        & pl.col("status").is_in(["posted", "partially_paid"])
        & (ctx.A - pl.col("due_date") > 15)
        & ~pl.col("invoice_id").is_in(disputed)
        & ~pl.col("invoice_id").is_in(pl.Series(touched).implode())
    )
    d = pick(ctx, od, "Q2C-074", weight=sloppy(ctx, od))
    ctx.t["collection_action"] = ca.filter(~pl.col("invoice_id").is_in(d["invoice_id"].implode()))


def _identifiable(ctx: Ctx, inv: pl.DataFrame, pay: pl.DataFrame, un: pl.DataFrame) -> dict[str, str]:
    """Per unapplied payment whose invoice one can tell from the books, that invoice: the client's only open
    invoice in the currency whose open amount (gross - applied payments - credit notes) equals the payment,
    issued on or before it was received, with no other unapplied payment of the client for that amount. The
    generator knows the invoice each payment was for (_invoice); where another invoice or payment would fit as
    well, nobody could tell, and the payment stays money of its own."""
    applied = (
        pay.filter(pl.col("invoice_id").is_not_null()).group_by("invoice_id").agg(pl.col("amount").sum())
    )
    credits = (
        inv.filter(pl.col("type") == "credit_note")
        .group_by(pl.col("source_ref").alias("invoice_id"))
        .agg(pl.col("amount_gross").abs().sum().alias("_cred"))
    )
    open_ = (
        inv.filter((pl.col("type") == "invoice") & (pl.col("invoice_date") <= ctx.A))
        .join(applied, on="invoice_id", how="left")
        .join(credits, on="invoice_id", how="left")
        .select(
            "invoice_id",
            "client_id",
            "currency",
            "invoice_date",
            (pl.col("amount_gross") - pl.col("amount").fill_null(0) - pl.col("_cred").fill_null(0)).alias(
                "_open"
            ),
        )
    )
    twins = un.group_by("client_id", "currency", "amount").agg(pl.len().alias("_twins"))
    fits = (
        un.drop("invoice_id")
        .join(twins, on=["client_id", "currency", "amount"])
        .join(open_, left_on=["client_id", "currency", "amount"], right_on=["client_id", "currency", "_open"])
        .filter(pl.col("invoice_date") <= pl.col("received_date"))
        .group_by("payment_id")
        .agg(
            pl.len().alias("_n"),
            pl.col("_twins").max(),
            pl.col("invoice_id").first(),
            pl.col("_invoice").first(),
        )
        .filter((pl.col("_n") == 1) & (pl.col("_twins") == 1) & (pl.col("invoice_id") == pl.col("_invoice")))
    )
    return dict(zip(fits["payment_id"].to_list(), fits["invoice_id"].to_list(), strict=True))


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 024, 030, 055, 073, 074, 075."""
    se = sow_effective(ctx)
    inv = ctx.t["invoice"].filter(~pl.col("status").is_in(["draft", "cancelled"]))
    out = []
    j = inv.filter(pl.col("type") == "invoice").join(
        se.select("sow_id", "eff_payment_terms_days", "eff_po_required", pl.col("po_number").alias("_spo")),
        on="sow_id",
    )
    t = j.filter(pl.col("payment_terms_days") != pl.col("eff_payment_terms_days"))
    out.append(
        key(
            "Q2C-024",
            "invoice",
            [
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount_gross"], r["currency"], r["invoice_date"]),
                    f"invoice={r['payment_terms_days']} contract={r['eff_payment_terms_days']}",
                    rc(ctx, r["amount_gross"], r["currency"], r["invoice_date"])
                    * max(r["payment_terms_days"] - r["eff_payment_terms_days"], 0)
                    * COC
                    / 365,
                )
                for r in t.iter_rows(named=True)
            ],
        )
    )
    p = j.filter(
        pl.col("eff_po_required")
        & (
            pl.col("po_number").is_null()
            | (pl.col("_spo").is_not_null() & (pl.col("po_number") != pl.col("_spo")))
        )
    )
    out.append(
        key(
            "Q2C-055",
            "invoice",
            [
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount_gross"], r["currency"], r["invoice_date"]),
                    "",
                    rc(ctx, r["amount_gross"], r["currency"], r["invoice_date"]) * 30 * COC / 365,
                )
                for r in p.iter_rows(named=True)
            ],
        )
    )
    billed = (
        ctx.t["invoice_line"]
        .filter(pl.col("line_type") == "milestone")
        .join(inv.select("invoice_id"), on="invoice_id")
    )
    ms = ctx.t["milestone"].filter(
        (pl.col("billing_trigger") == "acceptance")
        & pl.col("accepted_date").is_not_null()
        & ~pl.col("milestone_id").is_in(billed["source_id"].implode())
    )
    ms = ms.filter(pl.Series(bd_age(ctx, ms["accepted_date"].to_numpy()) > 5)).join(
        se.select("sow_id", "currency"), on="sow_id"
    )
    out.append(
        key(
            "Q2C-030",
            "milestone",
            [
                (
                    r["milestone_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount"], r["currency"], r["accepted_date"]),
                    "",
                    rc(ctx, r["amount"], r["currency"], r["accepted_date"])
                    * p_leak_dec(ctx.A - r["accepted_date"]),
                )
                for r in ms.iter_rows(named=True)
            ],
        )
    )
    pay = ctx.t["payment"]
    un = pay.filter(pl.col("invoice_id").is_null() & (ctx.A - pl.col("received_date") > 5))
    out.append(
        key(
            "Q2C-073",
            "payment",
            [
                (
                    r["payment_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount"], r["currency"], r["received_date"]),
                    "unapplied",
                )
                for r in un.iter_rows(named=True)
            ],
        )
    )
    sp = inv.join(
        pay.filter(pl.col("invoice_id").is_not_null())
        .group_by("invoice_id")
        .agg(pl.col("amount").sum().alias("_p")),
        on="invoice_id",
    ).filter((pl.col("amount_gross") - pl.col("_p") > 100) & (pl.col("due_date") < ctx.A))
    out.append(
        key(
            "Q2C-073",
            "invoice",
            [
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount_gross"] - r["_p"], r["currency"], r["invoice_date"]),
                    "short_pay",
                )
                for r in sp.iter_rows(named=True)
            ],
        )
    )
    paid_for = _identifiable(ctx, inv, pay, un)
    public = ctx.notes.setdefault("public", {})
    public["unapplied_for"] = paid_for
    # the money each Q2C-073 row is about: an identifiable unapplied payment is the open amount of the invoice it
    # was for, the same money as that invoice's short payment (checks/cases.py counts one piece once)
    public["money_piece"] = {
        **{f"Q2C-073|payment|{p}": f"open:{i}" for p, i in paid_for.items()},
        **{f"Q2C-073|invoice|{i}": f"open:{i}" for i in sp["invoice_id"]},
    }
    ca = (
        ctx.t["collection_action"]
        .join(inv.select("invoice_id", "due_date"), on="invoice_id")
        .filter(pl.col("action_date") >= pl.col("due_date"))["invoice_id"]
        .implode()
    )
    dis = ctx.t["dispute"].filter(pl.col("closed").is_null())["invoice_id"].implode()
    od = inv.filter(
        (pl.col("type") == "invoice")
        & pl.col("status").is_in(["posted", "partially_paid"])
        & (ctx.A - pl.col("due_date") > 15)
        & ~pl.col("invoice_id").is_in(ca)
        & ~pl.col("invoice_id").is_in(dis)
    )
    out.append(
        key(
            "Q2C-074",
            "invoice",
            [
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount_gross"] - r["amount_paid"], r["currency"], r["invoice_date"]),
                    f"dpd={ctx.A - r['due_date']}",
                    rc(ctx, r["amount_gross"] - r["amount_paid"], r["currency"], r["invoice_date"])
                    * p_leak_dec(ctx.A - r["due_date"]),
                )
                for r in od.iter_rows(named=True)
            ],
        )
    )
    cn = inv.filter(
        (pl.col("type") == "credit_note")
        & (pl.col("credit_reason_code").is_null() | pl.col("source_ref").is_null())
    )
    out.append(
        key(
            "Q2C-075",
            "invoice",
            [
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount_net"], r["currency"], r["invoice_date"]),
                    "",
                )
                for r in cn.iter_rows(named=True)
            ],
        )
    )
    _ = Decimal
    return pl.concat(out)
