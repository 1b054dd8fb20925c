"""Traceability: Q2C-102 (correlation IDs) and Q2C-103 (orphan cross-system references).

Injection: 102 — 2 % of invoices carry a bad correlation id (§D.2 #45): three in four malformed (keyed by hand in
lower case), one in four conflicting (another engagement's id); their payments keep the engagement's id and so
conflict with the invoice. Missing ids are not injected: the canonical layer derives them through references.
103 — 0.3 % of CRM invoice-status records name an ERP invoice number that does not exist (re-keyed with a typo,
§D.2 #46); the ERP invoice then also counts as missing in CRM (Q2C-070). Evaluators state each card on the final
tables:
102 — SOW (parent opportunity; a SOW without one may mint its own), project (parent SOW), non-cancelled invoice
  (parent: its SOW, else its project's), applied payment (parent invoice): id missing, not matching corr_regex,
  parent without id, or ≠ parent's. impact invoices round(gross × fx(ccy, invoice_date), 2), payments
  round(amount × fx(ccy, received_date), 2), else 0.
103 — invoice → project / SOW, project → SOW, time entry → project, invoice line → invoice, payment → invoice, CRM
  status → ERP invoice (erp_invoice_no) pointing nowhere: invoices / payments round(amount × fx(ccy, own date), 2),
  CRM records round(amount × fx(ccy, due_date), 2), others 0; one finding per referencing record.
"""

from __future__ import annotations

import polars as pl

from ..ctx import Ctx
from ..params import CHECK_PARAMS
from .base import key, pick, rc

REGEX = CHECK_PARAMS["corr_regex"]


def inject(ctx: Ctx) -> None:
    """Hand-keyed / crossed correlation ids on invoices (102), CRM records with a mistyped invoice number (103)."""
    rng = ctx.child_rng("inject-trace")
    inv = ctx.t["invoice"]
    live = inv.filter((pl.col("status") != "cancelled") & pl.col("correlation_id").is_not_null())
    a = pick(ctx, live, "Q2C-102", p=min(1.0, 0.02 * ctx.defect_scale))
    cids = sorted(set(live["correlation_id"].to_list()))
    m = {}
    for iid, cid in zip(a["invoice_id"], a["correlation_id"], strict=True):
        if rng.random() < 0.75 or len(cids) < 2:
            m[iid] = cid.lower()
        else:
            m[iid] = cids[(cids.index(cid) + 1 + int(rng.integers(0, len(cids) - 1))) % len(cids)]
    ctx.t["invoice"] = inv.with_columns(
        correlation_id=pl.col("invoice_id").replace_strict(m, default=pl.col("correlation_id"))
    )
    crm = ctx.t["crm_invoice_status"]
    b = pick(ctx, crm, "Q2C-103", p=min(1.0, 0.003 * ctx.defect_scale))
    typo = {
        r: n[:-2] + n[-1] + n[-2] + "X" for r, n in zip(b["crm_record_id"], b["erp_invoice_no"], strict=True)
    }
    ctx.t["crm_invoice_status"] = crm.with_columns(
        erp_invoice_no=pl.col("crm_record_id").replace_strict(typo, default=pl.col("erp_invoice_no"))
    )


def _issue(cid: str | None, parent: str | None, has_parent: bool, is_sow: bool) -> str | None:
    import re

    if cid is None:
        return "missing"
    if not re.search(REGEX, cid):
        return "malformed"
    if is_sow and not has_parent:
        return None
    if parent is None:
        return "non_resolving_parent"
    return "conflicting" if cid != parent else None


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 102 and 103."""
    return pl.concat([_102(ctx), _103(ctx)])


def _102(ctx: Ctx) -> pl.DataFrame:
    t = ctx.t
    opp = t["opportunity"].select("opportunity_id", pl.col("correlation_id").alias("_pc"), _hp=pl.lit(True))
    sow = t["sow"].select("sow_id", "opportunity_id", "correlation_id")
    s_par = t["sow"].select("sow_id", pl.col("correlation_id").alias("_pc"), _hp=pl.lit(True))
    out = []
    s = sow.join(opp, on="opportunity_id", how="left")
    rows = [
        (e, c, 0, i)
        for e, c, p, h in s.select("sow_id", "correlation_id", "_pc", "_hp").iter_rows()
        if (i := _issue(c, p, bool(h), True))
    ]
    out.append(key("Q2C-102", "sow", sorted(rows)))
    p = t["project"].select("project_id", "sow_id", "correlation_id").join(s_par, on="sow_id", how="left")
    rows = [
        (e, c, 0, i)
        for e, c, pc, h in p.select("project_id", "correlation_id", "_pc", "_hp").iter_rows()
        if (i := _issue(c, pc, bool(h), False))
    ]
    out.append(key("Q2C-102", "project", sorted(rows)))
    inv = t["invoice"].filter(pl.col("status") != "cancelled")
    i = inv.join(
        t["project"].select("project_id", pl.col("sow_id").alias("_ps")), on="project_id", how="left"
    )
    i = i.with_columns(_sid=pl.coalesce("sow_id", "_ps")).join(
        s_par.rename({"sow_id": "_sid"}), on="_sid", how="left"
    )
    rows = []
    for r in i.iter_rows(named=True):
        iss = _issue(r["correlation_id"], r["_pc"], bool(r["_hp"]), False)
        if iss:
            rows.append(
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount_gross"], r["currency"], r["invoice_date"]),
                    iss,
                )
            )
    out.append(key("Q2C-102", "invoice", sorted(rows)))
    ipar = t["invoice"].select("invoice_id", pl.col("correlation_id").alias("_pc"), _hp=pl.lit(True))
    y = t["payment"].filter(pl.col("invoice_id").is_not_null()).join(ipar, on="invoice_id", how="left")
    rows = []
    for r in y.iter_rows(named=True):
        iss = _issue(r["correlation_id"], r["_pc"], bool(r["_hp"]), False)
        if iss:
            rows.append(
                (
                    r["payment_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount"], r["currency"], r["received_date"]),
                    iss,
                )
            )
    out.append(key("Q2C-102", "payment", sorted(rows)))
    return pl.concat(out)


def _103(ctx: Ctx) -> pl.DataFrame:
    t = ctx.t
    proj = t["project"]["project_id"].implode()
    sows = t["sow"]["sow_id"].implode()
    invs = t["invoice"]["invoice_id"].implode()
    nos = t["invoice"]["erp_invoice_no"].implode()
    out = []
    inv = t["invoice"].filter(
        (pl.col("project_id").is_not_null() & ~pl.col("project_id").is_in(proj))
        | (pl.col("sow_id").is_not_null() & ~pl.col("sow_id").is_in(sows))
    )
    out.append(
        key(
            "Q2C-103",
            "invoice",
            [
                (
                    r["invoice_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount_gross"], r["currency"], r["invoice_date"]),
                    "",
                )
                for r in inv.iter_rows(named=True)
            ],
        )
    )
    p = t["project"].filter(pl.col("sow_id").is_not_null() & ~pl.col("sow_id").is_in(sows))
    out.append(
        key(
            "Q2C-103",
            "project",
            [(e, c, 0, "") for e, c in p.select("project_id", "correlation_id").iter_rows()],
        )
    )
    te = t["time_entry"].select("project_id", "time_entry_id", "correlation_id")
    te = te.filter(~pl.col("project_id").is_in(proj))
    out.append(
        key(
            "Q2C-103",
            "time_entry",
            [(e, c, 0, "") for e, c in te.select("time_entry_id", "correlation_id").iter_rows()],
        )
    )
    il = t["invoice_line"].select("invoice_id", "invoice_line_id", "correlation_id")
    il = il.filter(~pl.col("invoice_id").is_in(invs))
    out.append(
        key(
            "Q2C-103",
            "invoice_line",
            [(e, c, 0, "") for e, c in il.select("invoice_line_id", "correlation_id").iter_rows()],
        )
    )
    y = t["payment"].filter(pl.col("invoice_id").is_not_null() & ~pl.col("invoice_id").is_in(invs))
    out.append(
        key(
            "Q2C-103",
            "payment",
            [
                (
                    r["payment_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount"], r["currency"], r["received_date"]),
                    "",
                )
                for r in y.iter_rows(named=True)
            ],
        )
    )
    c = t["crm_invoice_status"].filter(~pl.col("erp_invoice_no").is_in(nos))
    out.append(
        key(
            "Q2C-103",
            "crm_invoice_status",
            [
                (
                    r["crm_record_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount"], r["currency"], r["due_date"]),
                    "",
                )
                for r in c.iter_rows(named=True)
            ],
        )
    )
    return pl.concat(out)
