"""Invoice → CRM reflection: Q2C-070 (missing in CRM after 24 h), Q2C-072 (payment status mismatch).

Q2C-070 — 1.5 % of posted invoices (type invoice, posted > 24 h before as_of_ts; credit notes are out of the check's
scope) never reached Salesforce: the crm_invoice_status row and its invoice/payment events are absent (message
lost). impact_rc = rc(amount_gross, currency, invoice_date); entity invoice.

Q2C-072 — 2 % of invoices: CRM status lags the ERP. Half show 'open' in CRM after the ERP applied payment in full
(the payment never reached CRM: impact rc(ERP settled = gross − open, currency, invoice_date), collected cash CRM
does not show), half show 'paid' in CRM while the ERP is open (impact rc(ERP open, currency, invoice_date), the amount
nobody chases). Statuses ranked open/overdue 0 < partially_paid 1 < paid/credited 2; statuses that cannot be ordered (an
unranked CRM status such as cancelled, or the same rank) put the whole gross at stake.
ERP status: applied payments with applied_date ≤ as_of plus, for credited invoices, the full credit (see cash.py);
statuses compared in canonical vocabulary open / partially_paid / paid; rows synced within 24 h are excluded.
entity invoice. Open amount = amount_gross − settled.
"""

from __future__ import annotations

import polars as pl

from ..calc import DAY
from ..ctx import Ctx
from ..params import CHECK_PARAMS
from .base import key, pick, rc

SYNC = CHECK_PARAMS["sync_sla_hours"] * 3600


def inject(ctx: Ctx) -> None:
    """Drop CRM rows (070) and freeze CRM status (072)."""
    inv = ctx.t["invoice"].filter(
        (pl.col("type") == "invoice")
        & (pl.col("posted_at") < ctx.as_of_ts - SYNC)
        & ~pl.col("_credited").fill_null(False)
    )
    lost = pick(ctx, inv, "Q2C-070")
    gone = lost["invoice_id"].implode()
    ctx.t["crm_invoice_status"] = ctx.t["crm_invoice_status"].filter(~pl.col("_invoice_id").is_in(gone))
    pays = ctx.t["payment"].filter(pl.col("_invoice").is_in(gone))["payment_id"].implode()
    ev = ctx.t["integration_event"]
    ctx.t["integration_event"] = ev.filter(
        ~((pl.col("entity_type") == "invoice") & pl.col("entity_id").is_in(gone))
        & ~((pl.col("entity_type") == "payment") & pl.col("entity_id").is_in(pays))
    )
    c = ctx.t["crm_invoice_status"].join(
        ctx.t["invoice"].select(
            pl.col("invoice_id").alias("_invoice_id"), "status", "posted_at", "_last_applied"
        ),
        on="_invoice_id",
    )
    paid = c.filter((pl.col("status") == "paid") & (pl.col("_last_applied") <= ctx.A - 2))
    open_ = c.filter((pl.col("status") == "posted") & (pl.col("posted_at") < ctx.as_of_ts - 2 * SYNC))
    a = pick(ctx, paid, "Q2C-072", p=min(1.0, 0.02 * ctx.defect_scale))
    b = pick(ctx, open_, "Q2C-072", p=min(1.0, 0.02 * ctx.defect_scale * paid.height / max(open_.height, 1)))
    first = pl.col("posted_at") + 1800
    crm = ctx.t["crm_invoice_status"]
    crm = crm.with_columns(
        status=pl.when(pl.col("_invoice_id").is_in(a["_invoice_id"].implode()))
        .then(pl.lit("open"))
        .when(pl.col("_invoice_id").is_in(b["_invoice_id"].implode()))
        .then(pl.lit("paid"))
        .otherwise("status"),
        paid_amount=pl.when(pl.col("_invoice_id").is_in(a["_invoice_id"].implode()))
        .then(0)
        .when(pl.col("_invoice_id").is_in(b["_invoice_id"].implode()))
        .then("amount")
        .otherwise("paid_amount"),
    )
    fix = a.select("_invoice_id", _ls=first)
    crm = (
        crm.join(fix, on="_invoice_id", how="left", maintain_order="left")
        .with_columns(last_synced_at=pl.coalesce("_ls", "last_synced_at"))
        .drop("_ls")
    )
    ctx.t["crm_invoice_status"] = crm


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Q2C-070 and Q2C-072 rows."""
    inv = ctx.t["invoice"]
    have = ctx.t["crm_invoice_status"]["erp_invoice_no"].implode()
    m = inv.filter(
        (pl.col("type") == "invoice")  # the check covers invoices; credit notes are out of its scope
        & pl.col("status").is_in(["posted", "paid", "partially_paid"])
        & (pl.col("posted_at") < ctx.as_of_ts - SYNC)
        & ~pl.col("erp_invoice_no").is_in(have)
    )
    out = [
        key(
            "Q2C-070",
            "invoice",
            [
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount_gross"], r["currency"], r["invoice_date"]),
                    r["erp_invoice_no"],
                )
                for r in m.iter_rows(named=True)
            ],
        )
    ]
    e = inv.filter(
        (pl.col("type") == "invoice") & ~pl.col("status").is_in(["draft", "cancelled"])
    ).with_columns(
        _erp=pl.when(pl.col("amount_paid") >= pl.col("amount_gross") - 1)
        .then(pl.lit("paid"))
        .when(pl.col("amount_paid") > 0)
        .then(pl.lit("partially_paid"))
        .otherwise(pl.lit("open"))
    )
    j = e.join(
        ctx.t["crm_invoice_status"].select(
            "erp_invoice_no", pl.col("status").alias("_crm"), "last_synced_at"
        ),
        on="erp_invoice_no",
    ).filter((pl.col("_erp") != pl.col("_crm")) & (pl.col("last_synced_at") < ctx.as_of_ts - SYNC))
    out.append(
        key(
            "Q2C-072",
            "invoice",
            [
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, _072_at_stake(r), r["currency"], r["invoice_date"]),
                    f"erp={r['_erp']} crm={r['_crm']}",
                )
                for r in j.iter_rows(named=True)
            ],
        )
    )
    _ = DAY
    return pl.concat(out)


_RANK = {"open": 0, "overdue": 0, "partially_paid": 1, "paid": 2, "credited": 2}


def _072_at_stake(r: dict) -> int:
    """Cents whose collection CRM misreports: the ERP open amount where CRM shows more collected, what the ERP
    settled where it shows less, the gross where the statuses cannot be ordered (no rank, or the same one)."""
    open_ = max(r["amount_gross"] - r["amount_paid"], 0)
    erp, crm = _RANK[r["_erp"]], _RANK.get(str(r["_crm"]).lower())
    if crm is None or crm == erp:
        return r["amount_gross"]
    return open_ if crm > erp else r["amount_gross"] - open_
