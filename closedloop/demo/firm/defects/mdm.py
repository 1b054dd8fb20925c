"""Master data: Q2C-040 (currency), Q2C-041 (legal entity), Q2C-042 (tax), Q2C-045 (intercompany).

Injection (§D.2 #35-37, #39): 040 — 0.7 % of projects are set up in another of the firm's currencies (header only;
invoices follow the SOW); 041 — 0.8 % of projects are booked in another legal entity, and 0.3 % of invoices are
issued by one (co-trips 042 seller country, 045 and 076 — all evaluated on the final tables); 042 — 0.7 % of
non-tax lines on live invoices carry the wrong rate (0 % where VAT is due, 20 % where it is not), the invoice is
re-totalled; 045 — each intercompany agreement was signed late: its valid_from moves to the work date before which
~5 % of that pair's cross-entity hours fall. Evaluators state each card on the final tables:
040 — non-cancelled project, currency ≠ SOW currency, SOW not multi-currency: Σ over its live invoices (type
  invoice) of round(gross × fx(ccy, invoice_date), 2); entity project.
041 — project LE ≠ SOW LE: Σ of its invoices' round(gross × fx, 2) (type invoice); invoice LE ≠ its SOW's (invoice
  sow_id, else project's): round(gross × fx(ccy, invoice_date), 2); entity project / invoice.
042 — per live non-tax line vs tax_matrix (seller = invoicing LE country, buyer = bill-to country, category,
  business buyer, invoice date): rate differs by > 0.0001 (0 for exempt clients) → round(|amount × (rate −
  expected)| × fx(ccy, invoice_date), 2) in double precision as the SQL; no matrix row or reverse charge without tax
  id → 0; entity invoice_line.
045 — per project, time by a resource of another LE with no agreement valid on the work date:
  round(Σ hours × cost_rate × fx(project ccy, as_of), 2).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..calc import cents_dec
from ..ctx import Ctx
from ..frames import by_slices, replace_rows
from .base import key, pick, retotal


def inject(ctx: Ctx) -> None:
    """Wrong currency / entity on headers, wrong tax rates, late intercompany agreements."""
    rng = ctx.child_rng("inject-mdm")
    les = ctx.t["legal_entity"].sort("legal_entity_id")
    ccys = sorted(set(les["functional_ccy"].to_list()))
    p = ctx.t["project"]
    a = pick(ctx, p, "Q2C-040", p=min(1.0, 0.007 * ctx.defect_scale)) if len(ccys) > 1 else p.head(0)
    cm = {
        pid: ccys[(ccys.index(c) + 1) % len(ccys)] if c in ccys else ccys[0]
        for pid, c in zip(a["project_id"], a["currency"], strict=True)
    }
    le_ids = les["legal_entity_id"].to_list()

    def other(le: str) -> str:
        return le_ids[(le_ids.index(le) + 1) % len(le_ids)] if le in le_ids else le_ids[0]

    b = pick(ctx, p, "Q2C-041", p=min(1.0, 0.008 * ctx.defect_scale)) if len(le_ids) > 1 else p.head(0)
    lm = {pid: other(le) for pid, le in zip(b["project_id"], b["legal_entity_id"], strict=True)}
    ctx.t["project"] = p.with_columns(
        currency=pl.col("project_id").replace_strict(cm, default=pl.col("currency")),
        legal_entity_id=pl.col("project_id").replace_strict(lm, default=pl.col("legal_entity_id")),
    )
    inv = ctx.t["invoice"]
    live = inv.filter((pl.col("type") == "invoice") & ~pl.col("status").is_in(["draft", "cancelled"]))
    c = pick(ctx, live, "Q2C-041", p=min(1.0, 0.003 * ctx.defect_scale)) if len(le_ids) > 1 else live.head(0)
    im = {i: other(le) for i, le in zip(c["invoice_id"], c["legal_entity_id"], strict=True)}
    ctx.t["invoice"] = inv.with_columns(
        legal_entity_id=pl.col("invoice_id").replace_strict(im, default=pl.col("legal_entity_id"))
    )
    # credited invoices keep their tax: the credit note mirrors the original gross
    uncredited = live.filter(~pl.col("_credited").fill_null(False))["invoice_id"].implode()
    el = (
        ctx.t["invoice_line"]
        .select("invoice_line_id", "invoice_id", "line_type", "tax_rate")
        .filter(pl.col("invoice_id").is_in(uncredited) & (pl.col("line_type") != "tax"))
    )
    d = pick(ctx, el, "Q2C-042", p=min(1.0, 0.007 * ctx.defect_scale))
    tm = dict(
        zip(
            d["invoice_line_id"].to_list(),
            np.where(d["tax_rate"].to_numpy() > 0, 0.0, 0.2).tolist(),
            strict=True,
        )
    )
    del el
    replace_rows(ctx.t, "invoice_line", "invoice_line_id", tm, "tax_rate", pl.Float64)
    retotal(ctx, d["invoice_id"].unique().sort().to_list())
    _late_agreements(ctx, rng)


def _late_agreements(ctx: Ctx, rng: np.random.Generator) -> None:
    """045: move each agreement's valid_from to the ~5 % quantile of its pair's cross-entity work dates."""
    if ctx.defect_scale <= 0:
        return
    ple = ctx.t["project"].select("project_id", pl.col("legal_entity_id").alias("_ple"))
    # cross-entity work, a slice of entries at a time (per-pair quantiles below do not depend on row order)
    x = by_slices(
        ctx.t["time_entry"].select("project_id", "resource_legal_entity_id", "work_date"),
        lambda te: te.join(ple, on="project_id").filter(pl.col("resource_legal_entity_id") != pl.col("_ple")),
    )
    ia = ctx.t["intercompany_agreement"]
    q = min(0.5, 0.05 * ctx.defect_scale)
    cut = x.group_by(
        pl.col("resource_legal_entity_id").alias("supplier_le"), pl.col("_ple").alias("buyer_le")
    ).agg(pl.col("work_date").quantile(q, "lower").alias("_q"))
    ia = ia.join(cut, on=["supplier_le", "buyer_le"], how="left", maintain_order="left")
    ctx.t["intercompany_agreement"] = ia.with_columns(
        valid_from=pl.max_horizontal("valid_from", pl.col("_q").fill_null(pl.col("valid_from")))
    ).drop("_q")
    _ = rng


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 040, 041, 042, 045."""
    t = ctx.t
    inv = t["invoice"].filter(pl.col("status") != "cancelled")
    inv = inv.with_columns(
        _g=pl.Series(
            ctx.fx.rc_units(
                inv["amount_gross"].to_numpy(), 2, inv["currency"], inv["invoice_date"].to_numpy()
            ),
            dtype=pl.Int64,
        )
    )
    per_p = (
        inv.filter(pl.col("type") == "invoice").group_by("project_id").agg(pl.col("_g").sum().alias("_pg"))
    )
    s = t["sow"].select(
        "sow_id",
        pl.col("currency").alias("_sc"),
        pl.col("legal_entity_id").alias("_sle"),
        "multi_currency_billing",
    )
    p = (
        t["project"]
        .filter(pl.col("status").fill_null("") != "cancelled")
        .join(s, on="sow_id")
        .join(per_p, on="project_id", how="left")
    )
    out = []
    a = p.filter(~pl.col("multi_currency_billing").fill_null(False) & (pl.col("currency") != pl.col("_sc")))
    out.append(
        key(
            "Q2C-040",
            "project",
            [
                (r["project_id"], r["correlation_id"], cents_dec(r["_pg"] or 0), "")
                for r in a.sort("project_id").iter_rows(named=True)
            ],
        )
    )
    b = p.filter(pl.col("legal_entity_id") != pl.col("_sle"))
    out.append(
        key(
            "Q2C-041",
            "project",
            [
                (r["project_id"], r["correlation_id"], cents_dec(r["_pg"] or 0), "")
                for r in b.sort("project_id").iter_rows(named=True)
            ],
        )
    )
    ip = inv.join(
        t["project"].select("project_id", pl.col("sow_id").alias("_psow")), on="project_id", how="left"
    )
    ip = ip.with_columns(_sid=pl.coalesce("sow_id", "_psow")).join(
        s.select(pl.col("sow_id").alias("_sid"), "_sle"), on="_sid"
    )
    c = ip.filter(pl.col("legal_entity_id") != pl.col("_sle"))
    out.append(
        key(
            "Q2C-041",
            "invoice",
            [
                (r["invoice_id"], r["correlation_id"], cents_dec(r["_g"]), "")
                for r in c.sort("invoice_id").iter_rows(named=True)
            ],
        )
    )
    out.append(_042(ctx))
    out.append(_045(ctx))
    return pl.concat(out)


def _042(ctx: Ctx) -> pl.DataFrame:
    t = ctx.t
    tm = t["tax_matrix"]
    if tm.height == 0:
        return key("Q2C-042", "invoice_line", [])
    inv = t["invoice"].filter(~pl.col("status").is_in(["draft", "cancelled"]))
    src = t["invoice_line"]
    rows = []
    # every line is judged on its own, so slices of lines give the same rows (sorted at the end) while the
    # joined per-line frame stays a slice, not millions of lines × a dozen columns
    for off in range(0, src.height, _SLICE):
        lines = (
            src.slice(off, _SLICE)
            .select("invoice_line_id", "invoice_id", "amount", "tax_rate", "service_category", "line_type")
            .filter(pl.col("line_type").fill_null("") != "tax")
            .drop("line_type")
        )
        rows += _042_rows(ctx, lines, inv, tm)
    return key("Q2C-042", "invoice_line", sorted(rows))


_SLICE = 500_000


def _042_rows(ctx: Ctx, lines: pl.DataFrame, inv: pl.DataFrame, tm: pl.DataFrame) -> list:
    t = ctx.t
    cl = t["client"].select(
        "client_id", "tax_exempt", "tax_id", _buyer=pl.coalesce("bill_to_country", "country")
    )
    le = t["legal_entity"].select("legal_entity_id", pl.col("country").alias("_seller"))
    il = (
        lines.join(
            inv.select(
                "invoice_id", "client_id", "legal_entity_id", "invoice_date", "currency", "correlation_id"
            ),
            on="invoice_id",
        )
        .join(cl, on="client_id")
        .join(le, on="legal_entity_id")
    )
    m = tm.filter(pl.col("buyer_is_business")).select(
        pl.col("seller_country").alias("_seller"),
        pl.col("buyer_country").alias("_buyer"),
        "service_category",
        "expected_rate",
        "reverse_charge",
        "valid_from",
        "valid_to",
    )
    j = il.join(m, on=["_seller", "_buyer", "service_category"], how="left").filter(
        pl.col("valid_from").is_null()
        | (
            (pl.col("invoice_date") >= pl.col("valid_from"))
            & (pl.col("invoice_date") <= pl.col("valid_to").fill_null(10**7))
        )
    )
    # lines whose only matrix rows are out of validity have no row at all
    j = pl.concat(
        [j, il.join(j.select("invoice_line_id"), on="invoice_line_id", how="anti")], how="diagonal_relaxed"
    )
    j = j.with_columns(
        _exp=pl.when(pl.col("tax_exempt").fill_null(False)).then(0.0).otherwise(pl.col("expected_rate"))
    )
    tr = j["tax_rate"].fill_null(0.0).to_numpy()
    ex = j["_exp"].to_numpy()
    no_row = j["valid_from"].is_null().to_numpy()
    rate_bad = ~no_row & (np.abs(tr - np.nan_to_num(ex)) > 0.0001)
    rc_bad = (
        ~no_row
        & ~rate_bad
        & j["reverse_charge"].fill_null(False).to_numpy()
        & j["tax_id"].is_null().to_numpy()
    )
    fx = ctx.fx.rate_e8(j["currency"], j["invoice_date"].to_numpy()).astype(np.float64) / 1e8
    raw = np.abs(j["amount"].to_numpy() / 100 * (tr - np.nan_to_num(ex))) * fx * 100
    cents = np.floor(raw + 0.5)
    sel = no_row | rate_bad | rc_bad
    j = j.select("invoice_line_id", "correlation_id").filter(pl.Series(sel))
    return [
        (
            lid,
            cid,
            (cents_dec(int(c)) if rb else 0),
            "rate" if rb else "no_matrix_row" if nr else "reverse_charge_without_tax_id",
        )
        for lid, cid, c, rb, nr in zip(
            j["invoice_line_id"], j["correlation_id"], cents[sel], rate_bad[sel], no_row[sel], strict=True
        )
    ]


def _045(ctx: Ctx) -> pl.DataFrame:
    t = ctx.t
    p = t["project"].select(
        "project_id",
        pl.col("legal_entity_id").alias("_ple"),
        "currency",
        pl.col("correlation_id").alias("_pc"),
    )

    def cross(te: pl.DataFrame) -> pl.DataFrame:
        return (
            te.select(
                "project_id", "resource_legal_entity_id", "work_date", "hours", "cost_rate", "correlation_id"
            )
            .filter(pl.col("resource_legal_entity_id").is_not_null())
            .join(p, on="project_id")
            .filter(pl.col("resource_legal_entity_id") != pl.col("_ple"))
        )

    # row-wise up to the per-project sums below (currency is the project's), so slices give the same sums
    x = by_slices(t["time_entry"], cross).with_row_index("_r")
    ia = t["intercompany_agreement"].select(
        pl.col("supplier_le").alias("resource_legal_entity_id"),
        pl.col("buyer_le").alias("_ple"),
        "valid_from",
        "valid_to",
    )
    cov = x.select("_r", "resource_legal_entity_id", "_ple", "work_date").join(
        ia, on=["resource_legal_entity_id", "_ple"]
    )
    cov = cov.filter(
        (pl.col("work_date") >= pl.col("valid_from"))
        & (pl.col("work_date") <= pl.col("valid_to").fill_null(10**7))
    )
    x = x.join(cov.select("_r").unique(), on="_r", how="anti")
    g = x.group_by("project_id").agg(
        (pl.col("hours") * pl.col("cost_rate").fill_null(0)).sum().alias("_c"),
        pl.first("currency"),
        pl.col("correlation_id").min(),
    )
    rows = []
    for r in g.sort("project_id").iter_rows(named=True):
        cents = int(ctx.fx.rc_units(np.array([r["_c"]]), 4, [r["currency"]], np.array([ctx.A]))[0])
        rows.append((r["project_id"], r["correlation_id"], cents_dec(cents), ""))
    return key("Q2C-045", "project", rows)
