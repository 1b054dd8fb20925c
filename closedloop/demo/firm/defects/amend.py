"""Amendment propagation (CLM → PSA/ERP/CRM): Q2C-060, Q2C-061, Q2C-062, Q2C-063.

Population: executed amendments (status 'executed', effective_date ≤ as_of) with bd_diff(signed_date, as_of) > 5.
Injection: only the SOW's *latest* executed amendment is left unpropagated (D.2 #24: budget 15 %, billing 12 %,
revenue 8 %, CRM 25 % of eligible amendments), so earlier amendments stay correctly propagated.
Attribution (the catalog SQL would flag every amendment of the SOW; we flag one): an amendment is reported when its
target was not touched after it (timestamp < signed_date), or when the target value differs from the effective SOW
and it is the SOW's latest executed amendment of the relevant kind. FX: rc(x, sow currency, amendment.signed_date).

Q2C-060 budget — value_delta ≠ 0; project.budget_amount ≠ eff_value or budget_updated_at < signed_date.
  impact_rc = rc(|value_delta|). entity amendment. (Co-trips Q2C-012 'budget' for non-TM.)
Q2C-061 billing — (a) FF/MILESTONE/RETAINER value amendment whose schedule lines were never added (nothing billed
  from them; SOWs with a schedule only): impact rc(|eff_value − Σ schedule|, sow ccy, signed_date); (b) rate amendment
  whose new rates never reached billing: time with work_date between effective_date and the new card's valid_to (a
  later rate amendment supersedes it) billed at the superseded rate on live invoices (no grace): impact Σ per line
  round(|new_rate − unit_price| × quantity × fx(invoice ccy, invoice_date), 2), these lines are NOT Q2C-033; (c) end-date amendment with project.end_date < new_end_date, or cap amendment with
  billing_rule.cap ≠ new_cap_amount: impact 0.00 (count). entity amendment; impacts of branches add up.
Q2C-062 revenue — only each SOW's latest executed value amendment (effective ≤ as_of), when signed > 5 bd ago:
  revenue_contract.transaction_price ≠ eff_value or tp_updated_at < signed_date. impact_rc = rc(|eff_value −
  transaction_price|, sow ccy, signed_date) (simplest reading of "value_delta × % complete": the un-booked price
  change). entity amendment. The injected price keeps the timestamp of the previous amendment's propagation.
Q2C-063 CRM — value_delta > 0 and no won change_order opportunity with parent_sow_id = sow and |amount − value_delta|
  ≤ 1 % of value_delta. impact_rc = 0.00: the card's impact is Count (value_delta goes in the detail). entity amendment.
"""

from __future__ import annotations

import polars as pl

from ..ctx import Ctx
from ..frames import by_slices
from .base import bd_age, key, pick, rc, reprice, sow_effective

RATES = {"Q2C-060": 0.15, "Q2C-061": 0.12, "Q2C-062": 0.08, "Q2C-063": 0.25}


def _eligible(ctx: Ctx) -> pl.DataFrame:
    am = ctx.t["amendment"].filter((pl.col("status") == "executed") & (pl.col("effective_date") <= ctx.A))
    am = am.filter(pl.Series(bd_age(ctx, am["signed_date"].to_numpy()) > 5))
    last = am.sort("sow_id", "amendment_no").group_by("sow_id").agg(pl.col("amendment_id").last())
    return am.filter(pl.col("amendment_id").is_in(last["amendment_id"].implode())).join(
        ctx.t["project"].select("sow_id", "project_id", "billing_type", "client_id"), on="sow_id"
    )


def inject(ctx: Ctx) -> None:
    """Leave the latest amendment of some SOWs unpropagated in one target each."""
    el = _eligible(ctx)
    val = el.filter(pl.col("value_delta") != 0)
    # 060 budget: roll the budget back to before the amendment
    a = pick(ctx, val, "Q2C-060", p=min(1.0, RATES["Q2C-060"] * ctx.defect_scale))
    prev = (
        ctx.t["amendment"]
        .filter(pl.col("status") == "executed")
        .join(a.select("sow_id", pl.col("signed_date").alias("_s")), on="sow_id")
    )
    prev = (
        prev.filter(pl.col("signed_date") < pl.col("_s"))
        .group_by("sow_id")
        .agg(pl.col("_t_budget").max().alias("_pt"))
    )
    fix = a.select("sow_id", "value_delta").join(prev, on="sow_id", how="left")
    p = ctx.t["project"].join(fix, on="sow_id", how="left", maintain_order="left")
    hit = pl.col("value_delta").is_not_null()
    ctx.t["project"] = p.with_columns(
        budget_amount=pl.when(hit)
        .then(pl.col("budget_amount") - pl.col("value_delta"))
        .otherwise("budget_amount"),
        budget_updated_at=pl.when(hit).then(pl.coalesce("_pt", "created_at")).otherwise("budget_updated_at"),
    ).drop("value_delta", "_pt")
    # 062 revenue contract not re-priced
    b = pick(ctx, val, "Q2C-062", p=min(1.0, RATES["Q2C-062"] * ctx.defect_scale))
    rcn = ctx.t["revenue_contract"].join(
        b.select("sow_id", "value_delta"), on="sow_id", how="left", maintain_order="left"
    )
    hit = pl.col("value_delta").is_not_null()
    ctx.t["revenue_contract"] = rcn.with_columns(
        transaction_price=pl.when(hit)
        .then(pl.col("transaction_price") - pl.col("value_delta"))
        .otherwise("transaction_price"),
        tp_updated_at=pl.when(hit).then(pl.col("tp_updated_at").min()).otherwise("tp_updated_at"),
    ).drop("value_delta")
    # the price was last touched when the previous amendment propagated (else at SOW signature + 1 day)
    prev_r = (
        ctx.t["amendment"]
        .filter(pl.col("status") == "executed")
        .join(b.select("sow_id", pl.col("signed_date").alias("_s")), on="sow_id")
        .filter(pl.col("signed_date") < pl.col("_s"))
        .group_by("sow_id")
        .agg(pl.col("_t_rev").max().alias("_pr"))
    )
    ctx.t["revenue_contract"] = (
        ctx.t["revenue_contract"]
        .join(ctx.t["sow"].select("sow_id", "signed_date"), on="sow_id", how="left")
        .join(prev_r, on="sow_id", how="left")
        .with_columns(
            tp_updated_at=pl.when(pl.col("sow_id").is_in(b["sow_id"].implode()))
            .then(pl.coalesce("_pr", (pl.col("signed_date") + 1) * 86400 + 12 * 3600))
            .otherwise("tp_updated_at")
        )
        .drop("signed_date", "_pr")
    )
    # 063 change-order opportunity never created
    c = pick(
        ctx, el.filter(pl.col("value_delta") > 0), "Q2C-063", p=min(1.0, RATES["Q2C-063"] * ctx.defect_scale)
    )
    ctx.t["opportunity"] = ctx.t["opportunity"].filter(
        ~pl.col("_amendment").is_in(c["amendment_id"].implode()).fill_null(False)
    )
    _billing(ctx, el)


def _billing(ctx: Ctx, el: pl.DataFrame) -> None:
    """061: schedule lines never added (a), new rates not used (b), end date / cap not pushed to PSA (c)."""
    p61 = min(1.0, RATES["Q2C-061"] * ctx.defect_scale)
    bs = ctx.t["billing_schedule"]
    billed = ctx.t["invoice_line"]["source_id"].implode()
    mbilled = (
        ctx.t["invoice_line"]
        .select("line_type", "source_id")
        .filter(pl.col("line_type") == "milestone")["source_id"]
        .implode()
    )
    am_lines = bs.filter(pl.col("_amendment").is_not_null())
    unbilled_am = (
        am_lines.with_columns(
            _b=pl.col("schedule_line_id").is_in(billed)
            | pl.col("milestone_id").is_in(mbilled).fill_null(False)
        )
        .group_by("_amendment")
        .agg(pl.col("_b").any().alias("_any"))
    )
    ok_a = unbilled_am.filter(~pl.col("_any"))["_amendment"].implode()
    a = pick(
        ctx, el.filter((pl.col("value_delta") != 0) & pl.col("amendment_id").is_in(ok_a)), "Q2C-061", p=p61
    )
    ctx.t["billing_schedule"] = bs.filter(
        ~pl.col("_amendment").is_in(a["amendment_id"].implode()).fill_null(False)
    )
    # (b) rate amendment: lines after effective date at the superseded rate
    r = el.filter(pl.col("change_type") == "rate")
    r = pick(ctx, r, "Q2C-061", p=p61)
    te = (
        ctx.t["time_entry"]
        .select("project_id", "role", "work_date", "invoice_line_id", "_si", "_ver")
        .filter(pl.col("invoice_line_id").is_not_null() & (pl.col("_ver") > 0))
        .join(r.select("sow_id", "effective_date", "project_id"), on="project_id")
        .filter(pl.col("work_date") >= pl.col("effective_date"))
    )
    grid = ctx.notes["rate_grid"]
    import numpy as np

    from ..params import ROLES

    role_i = np.searchsorted(np.array(sorted(ROLES)), te["role"].to_numpy())
    old = grid[te["_si"].to_numpy(), te["_ver"].to_numpy() - 1, role_i]
    reprice(ctx, te["invoice_line_id"].to_list(), old.tolist())
    # (c) end date / cap not pushed
    c = pick(
        ctx,
        el.filter(pl.col("new_end_date").is_not_null() | pl.col("new_cap_amount").is_not_null()),
        "Q2C-061",
        p=p61,
    )
    prevend = ctx.t["sow"].select("sow_id", "end_date")
    fix = c.select("sow_id", "new_end_date", "new_cap_amount", "value_delta").join(prevend, on="sow_id")
    fix = fix.join(
        ctx.t["amendment"]
        .filter((pl.col("status") == "executed") & pl.col("new_end_date").is_not_null())
        .select("sow_id", pl.col("new_end_date").alias("_e"), "amendment_id"),
        on="sow_id",
        how="left",
    )
    fix = (
        fix.filter(pl.col("_e").is_null() | (pl.col("_e") < pl.col("new_end_date")))
        .group_by("sow_id")
        .agg(
            pl.col("end_date").first(),
            pl.col("_e").max(),
            pl.col("new_end_date").first(),
            pl.col("new_cap_amount").first(),
            pl.col("value_delta").first(),
        )
    )
    p = ctx.t["project"].join(
        fix.select(
            "sow_id",
            _old_end=pl.when(pl.col("new_end_date").is_not_null()).then(pl.coalesce("_e", "end_date")),
        ),
        on="sow_id",
        how="left",
        maintain_order="left",
    )
    ctx.t["project"] = p.with_columns(end_date=pl.coalesce("_old_end", "end_date")).drop("_old_end")
    br = (
        ctx.t["billing_rule"]
        .join(ctx.t["project"].select("project_id", "sow_id"), on="project_id")
        .join(
            fix.filter(pl.col("new_cap_amount").is_not_null()).select("sow_id", "value_delta"),
            on="sow_id",
            how="left",
            maintain_order="left",
        )
    )
    ctx.t["billing_rule"] = br.with_columns(
        cap=pl.when(pl.col("value_delta").is_not_null())
        .then(pl.col("cap") - pl.col("value_delta"))
        .otherwise("cap")
    ).drop("sow_id", "value_delta")


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 060, 061, 062, 063 per the attribution rule in the module docstring."""
    se = sow_effective(ctx)
    am = ctx.t["amendment"].filter((pl.col("status") == "executed") & (pl.col("effective_date") <= ctx.A))
    am = am.filter(pl.Series(bd_age(ctx, am["signed_date"].to_numpy()) > 5)).join(
        se.select("sow_id", "eff_value", "currency", "billing_type", "correlation_id"), on="sow_id"
    )
    am = am.sort("sow_id", "amendment_no").with_columns(
        _last_val=pl.col("amendment_id")
        == pl.col("amendment_id").filter(pl.col("value_delta") != 0).last().over("sow_id")
    )
    proj = ctx.t["project"].filter(pl.col("status") != "cancelled")
    out = []
    j = am.filter(pl.col("value_delta") != 0).join(
        proj.select("sow_id", "project_id", "budget_amount", "budget_updated_at", "end_date"), on="sow_id"
    )
    bad = j.filter(
        (pl.col("budget_updated_at") < pl.col("signed_date") * 86400)
        | (((pl.col("budget_amount") - pl.col("eff_value")).abs() > 1) & pl.col("_last_val"))
    )
    out.append(
        key(
            "Q2C-060",
            "amendment",
            [
                (
                    r["amendment_id"],
                    r["correlation_id"],
                    rc(ctx, abs(r["value_delta"]), r["currency"], r["signed_date"]),
                    f"project={r['project_id']}",
                )
                for r in bad.iter_rows(named=True)
            ],
        )
    )
    out.append(_eval_062(ctx, se))
    co = (
        ctx.t["opportunity"]
        .filter((pl.col("deal_type") == "change_order") & pl.col("is_won"))
        .select(pl.col("parent_sow_id").alias("sow_id"), pl.col("amount").alias("_oa"))
    )
    j = (
        am.filter(pl.col("value_delta") > 0)
        .join(co, on="sow_id", how="left")
        .with_columns(
            _ok=((pl.col("_oa") - pl.col("value_delta")).abs() * 100 <= pl.col("value_delta")).fill_null(
                False
            )
        )
    )
    bad = (
        j.group_by("amendment_id")
        .agg(pl.col("_ok").any(), pl.first("correlation_id", "value_delta", "currency", "signed_date"))
        .filter(~pl.col("_ok"))
    )
    out.append(
        key(
            "Q2C-063",
            "amendment",
            [
                (
                    r["amendment_id"],
                    r["correlation_id"],
                    0,
                    f"value_delta={r['value_delta']}",
                )
                for r in bad.sort("amendment_id").iter_rows(named=True)
            ],
        )
    )
    out.append(_eval_061(ctx, am, proj))
    return pl.concat(out)


def _eval_062(ctx: Ctx, se: pl.DataFrame) -> pl.DataFrame:
    """062 judges only each SOW's latest executed value amendment (the catalog would flag every one)."""
    am = (
        ctx.t["amendment"]
        .filter(
            (pl.col("status") == "executed")
            & (pl.col("effective_date") <= ctx.A)
            & (pl.col("value_delta") != 0)
        )
        .sort("sow_id", "amendment_no")
        .group_by("sow_id")
        .agg(pl.all().last())
    )
    am = am.filter(pl.Series(bd_age(ctx, am["signed_date"].to_numpy()) > 5))
    rcn = ctx.t["revenue_contract"].group_by("sow_id").agg(pl.col("transaction_price", "tp_updated_at").max())
    j = am.join(se.select("sow_id", "eff_value", "currency", "correlation_id"), on="sow_id")
    bad = j.join(rcn, on="sow_id").filter(
        ((pl.col("transaction_price") - pl.col("eff_value")).abs() > 1)
        | pl.col("tp_updated_at").is_null()
        | (pl.col("tp_updated_at") < pl.col("signed_date") * 86400)
    )
    rows = [
        (
            r["amendment_id"],
            r["correlation_id"],
            rc(ctx, abs(r["eff_value"] - r["transaction_price"]), r["currency"], r["signed_date"]),
            f"tp={r['transaction_price']} eff={r['eff_value']}",
        )
        for r in bad.sort("amendment_id").iter_rows(named=True)
    ]
    return key("Q2C-062", "amendment", rows)


def _eval_061(ctx: Ctx, am: pl.DataFrame, proj: pl.DataFrame) -> pl.DataFrame:
    imp: dict[str, list] = {}
    sched = ctx.t["billing_schedule"].group_by("sow_id").agg(pl.col("amount").sum().alias("_st"))
    a = (
        am.filter(
            (pl.col("value_delta") != 0)
            & pl.col("billing_type").is_in(["FF", "MILESTONE", "RETAINER"])
            & pl.col("_last_val")
        )
        .join(sched, on="sow_id")  # no schedule at all (no project yet) is Q2C-010/020, not propagation
        .filter((pl.col("eff_value") - pl.col("_st")).abs() > 1)
    )
    for r in a.iter_rows(named=True):
        d = rc(ctx, abs(r["eff_value"] - (r["_st"] or 0)), r["currency"], r["signed_date"])
        imp.setdefault(r["amendment_id"], [r["correlation_id"], 0, []])[1:] = [d, ["schedule"]]
    # (b) rates (no grace: the line is already billed): per invoice line round(|new − unit| × qty × fx(invoice ccy,
    # invoice_date), 2), live invoices in the card's currency, time on/after effective_date up to the card's valid_to
    rn = ctx.t["rate_card"].select(
        pl.col("rate_card_id").alias("new_rate_card_id"),
        "role",
        pl.col("currency").alias("_rcy"),
        pl.col("bill_rate").alias("_nr"),
        pl.col("valid_to").fill_null(10**7).alias("_nto"),
    )
    b = (
        ctx.t["amendment"]
        .filter((pl.col("status") == "executed") & (pl.col("effective_date") <= ctx.A))
        .filter(pl.col("new_rate_card_id").is_not_null())
        .select("amendment_id", "sow_id", "effective_date", "new_rate_card_id")
        .join(ctx.t["sow"].select("sow_id", "correlation_id"), on="sow_id")
        .join(rn, on="new_rate_card_id")
        .join(ctx.t["project"].select("sow_id", "project_id"), on="sow_id")
    )
    # every time line sourced from the entry counts (a re-billed copy too), as the card joins on source_id
    te = ctx.t["time_entry"].select(
        "project_id", "role", "work_date", pl.col("time_entry_id").alias("source_id")
    )
    # per amendment below: summed, and its correlation id is the SOW's, so slices of entries give the same
    b = by_slices(
        te,
        lambda x: b.join(x, on=["project_id", "role"]).filter(
            (pl.col("work_date") >= pl.col("effective_date")) & (pl.col("work_date") <= pl.col("_nto"))
        ),
    )
    # only the time lines of those entries can join below: taken before the lines meet the invoices
    il = (
        ctx.t["invoice_line"]
        .select("source_id", "invoice_id", "unit_price", "quantity", "line_type")
        .filter((pl.col("line_type") == "time") & pl.col("source_id").is_in(b["source_id"].implode()))
        .drop("line_type")
        .join(
            ctx.t["invoice"]
            .filter((pl.col("type") == "invoice") & ~pl.col("status").is_in(["draft", "cancelled"]))
            .select("invoice_id", "currency", "invoice_date"),
            on="invoice_id",
        )
    )
    b = b.join(il, on="source_id").filter(
        (pl.col("currency") == pl.col("_rcy")) & ((pl.col("unit_price") - pl.col("_nr")).abs() > 1)
    )
    b = b.with_columns(
        _d=pl.Series(
            ctx.fx.rc_units(
                ((b["_nr"] - b["unit_price"]).abs() * b["quantity"]).to_numpy(),
                4,
                b["currency"],
                b["invoice_date"].to_numpy(),
            ),
            dtype=pl.Int64,
        )
    )
    from decimal import Decimal

    for (aid,), g in b.group_by("amendment_id", maintain_order=True):
        r0 = g.row(0, named=True)
        e = imp.setdefault(aid, [r0["correlation_id"], Decimal(0), []])
        e[1] += Decimal(int(g["_d"].sum())) / 100
        e[2].append("rate")
    c = am.join(proj.select("sow_id", "project_id", "end_date"), on="sow_id").join(
        ctx.t["billing_rule"].select("project_id", "cap"), on="project_id", how="left"
    )
    c = c.filter(
        (pl.col("new_cap_amount").is_not_null() & (pl.col("cap") != pl.col("new_cap_amount")))
        | (pl.col("new_end_date").is_not_null() & (pl.col("end_date") < pl.col("new_end_date")))
    )
    for r in c.iter_rows(named=True):
        e = imp.setdefault(r["amendment_id"], [r["correlation_id"], Decimal(0), []])
        e[2].append("cap_or_end")
    return key(
        "Q2C-061", "amendment", [(k, v[0], Decimal(v[1]), "+".join(v[2])) for k, v in sorted(imp.items())]
    )
