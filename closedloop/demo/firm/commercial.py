"""Commercial layer: MSAs, SOWs and their amendment plan (CLM), opportunities (CRM)."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY
from .ctx import Ctx
from .params import EXPENSE_POLICIES, SOW_MIX

AMEND_TYPES = {  # per billing type: (change types, probabilities)
    "TM": (["value", "end_date", "rate"], [0.45, 0.35, 0.20]),
    "TM_CAP": (["cap", "end_date", "rate"], [0.45, 0.35, 0.20]),
    "FF": (["value", "end_date"], [0.65, 0.35]),
    "MILESTONE": (["value", "end_date"], [0.65, 0.35]),
    "RETAINER": (["end_date"], [1.0]),
}


def plan_sows(ctx: Ctx) -> None:
    """Draw SOWs (signature, client, entity, billing type, dates) and the MSAs they hang under."""
    rng = ctx.child_rng("sow")
    sz = ctx.sizing
    n = int(rng.poisson(sz["sows_per_year"] * 2))
    days = np.arange(ctx.start, ctx.A - 1)
    bd = ctx.cal.is_bd[days - ctx.cal.first]
    qend = np.isin(days.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 3, [2])
    w = bd * np.where(qend, 1.6, 1.0)
    signed = np.sort(rng.choice(days, n, p=w / w.sum()))
    cl = ctx.t["client"]
    ci = rng.choice(cl.height, n, p=(cl["_weight"] / cl["_weight"].sum()).to_numpy())
    btype = rng.choice(list(SOW_MIX), n, p=list(SOW_MIX.values()))
    dur_m = np.clip(np.round(rng.gamma(4.0, sz["avg_duration_m"] / 4.0, n)), 2, 14).astype(np.int64)
    start = ctx.cal.add_bd(signed, rng.integers(3, 15, n))
    end = (start.astype("datetime64[D]").astype("datetime64[M]") + dur_m).astype("datetime64[D]").astype(
        np.int64
    ) - 1
    le = cl["_le"].to_numpy()[ci]
    le_ccy = dict(
        zip(ctx.t["legal_entity"]["legal_entity_id"], ctx.t["legal_entity"]["functional_ccy"], strict=True)
    )
    sow = pl.DataFrame(
        {
            "sow_id": ids.ironclad_ids("sow", n),
            "client_id": cl["client_id"].to_numpy()[ci],
            "legal_entity_id": le,
            "status": "executed",
            "signed_date": signed,
            "start_date": start,
            "end_date": end,
            "currency": [le_ccy[x] for x in le],
            "billing_type": btype,
            "payment_terms_days": cl["payment_terms_days"].to_numpy()[ci],
            "po_number": pl.Series([f"PO-{4500000000 + 37 * i}" for i in range(n)]).zip_with(
                pl.Series(cl["po_required"].to_numpy()[ci]), pl.Series([None] * n, dtype=pl.String)
            ),
            "expense_rebillable": np.isin(btype, ["TM", "TM_CAP"]) & (rng.random(n) < 0.85),
            "expense_markup_pct": np.where(rng.random(n) < 0.3, 0.10, 0.0),
            "work_at_risk_approved": False,
            "multi_currency_billing": False,
            "over_time_criteria": np.select(
                [btype == "RETAINER", (btype == "FF") & (rng.random(n) < 0.15)],
                ["stand_ready", "point_in_time"],
                "over_time",
            ),
            "correlation_id": ids.correlation_ids(n),
            "_team": 1 + rng.poisson(2.2, n),
            "_dur_m": dur_m,
            "_ci": ci,
        }
    ).with_columns(
        source_system=pl.lit("ironclad"),
        source_id=pl.col("sow_id"),
        _lead_raw=pl.Series(np.maximum(0, np.round(rng.lognormal(np.log(3), 0.9, n))).astype(np.int64)),
    )
    # one MSA per client, signed 30-400 days before its first SOW
    first = sow.group_by("client_id").agg(pl.col("signed_date").min().alias("_first")).sort("client_id")
    m = first.height
    policies = np.array(EXPENSE_POLICIES)[rng.integers(0, len(EXPENSE_POLICIES), m)]
    msa = (
        first.join(cl.select("client_id", "_le", "payment_terms_days", "po_required"), on="client_id")
        .with_columns(
            contract_id=ids.ironclad_ids("msa", m),
            signed_date=pl.col("_first") - pl.Series(rng.integers(30, 400, m)),
            contract_type=pl.lit("MSA"),
            status=pl.lit("executed"),
            tax_terms=pl.lit("exclusive"),
            expense_policy_id=pl.Series(policies),
        )
        .rename({"_le": "legal_entity_id"})
        .with_columns(
            effective_date=pl.col("signed_date"),
            end_date=pl.col("signed_date") + 5 * 365,
            currency=pl.col("legal_entity_id").replace_strict(le_ccy),
            source_system=pl.lit("ironclad"),
            source_id=pl.col("contract_id"),
        )
    )
    ctx.t["contract"] = msa.drop("_first")
    ctx.t["sow"] = sow.join(
        msa.select("client_id", "contract_id", "expense_policy_id"), on="client_id", how="left"
    ).sort("signed_date", "sow_id")


def plan_amendments(ctx: Ctx) -> None:
    """Decide which SOWs get amendments, their type and dates; extensions are applied before work is simulated."""
    rng = ctx.child_rng("amend")
    s = ctx.t["sow"]
    n = s.height
    k = np.where(rng.random(n) < 0.40, 1 + rng.poisson(0.6, n), 0)
    idx = np.repeat(np.arange(n), k)
    a = len(idx)
    sd, ed = s["start_date"].to_numpy()[idx], s["end_date"].to_numpy()[idx]
    lo = sd + (ed - sd) * 0.2
    signed = np.round(lo + rng.random(a) * np.maximum(ed - 10 - lo, 1)).astype(np.int64)
    signed = ctx.cal.add_bd(signed - 1, np.ones(a, dtype=np.int64))
    bt = s["billing_type"].to_numpy()[idx]
    ctype = np.empty(a, dtype=object)
    for b, (types, p) in AMEND_TYPES.items():
        sel = bt == b
        ctype[sel] = rng.choice(types, sel.sum(), p=p)
    am = pl.DataFrame(
        {
            "_si": idx,
            "sow_id": s["sow_id"].to_numpy()[idx],
            "signed_date": signed,
            "change_type": ctype.astype(str),
            "_u": rng.random(a),
            "_ext_m": rng.integers(1, 4, a),
            "_eff_lag": rng.integers(0, 11, a),
        }
    )
    am = am.sort("sow_id", "signed_date", "_u").with_columns(
        amendment_no=pl.int_range(1, pl.len() + 1).over("sow_id").cast(pl.Int32),
        # only the first cap amendment stays a cap change (one cap change per SOW keeps 061c unambiguous)
        change_type=pl.when(
            (pl.col("change_type") == "cap") & (pl.col("change_type") == "cap").cum_sum().over("sow_id").gt(1)
        )
        .then(pl.lit("end_date"))
        .otherwise(pl.col("change_type")),
    )
    executed = am["signed_date"] <= ctx.A - 20
    am = am.with_columns(
        status=pl.Series(np.where(executed, "executed", "in_review")),
        effective_date=pl.col("signed_date") + pl.col("_eff_lag"),
    )
    am = am.with_columns(
        signed_date=pl.when(pl.col("status") == "executed").then("signed_date"),
        effective_date=pl.when(pl.col("status") == "executed").then("effective_date"),
    ).with_columns(effective_date=pl.col("effective_date").cum_max().over("sow_id"))
    am = am.with_columns(
        amendment_id=ids.ironclad_ids("amendment", am.height), source_system=pl.lit("ironclad")
    )
    # end-date extensions chain: each executed extension pushes the running end date
    ext = (am["change_type"] == "end_date") & (am["status"] == "executed")
    am = am.with_columns(_ext_days=pl.when(ext).then(pl.col("_ext_m") * 30).otherwise(0))
    am = am.with_columns(_cum_ext=pl.col("_ext_days").cum_sum().over("sow_id"))
    am = (
        am.join(s.select("sow_id", "end_date"), on="sow_id")
        .with_columns(  # by expression: a join need not keep row order, so a positional mask would misalign
            new_end_date=pl.when(
                (pl.col("change_type") == "end_date") & (pl.col("status") == "executed")
            ).then(pl.col("end_date") + pl.col("_cum_ext"))
        )
        .drop("end_date")
    )
    tot = am.group_by("sow_id").agg(pl.col("_ext_days").sum().alias("_ext_total"))
    ctx.t["sow"] = s.join(tot, on="sow_id", how="left").with_columns(
        _eff_end=pl.col("end_date") + pl.col("_ext_total").fill_null(0)
    )
    ctx.t["amendment"] = am


def opportunities(ctx: Ctx) -> None:
    """Won opportunities for every SOW, lost and open pipeline, and won change-order opps per amendment."""
    rng = ctx.child_rng("opp")
    s = ctx.t["sow"]
    n = s.height
    close = s["signed_date"].to_numpy()  # won on signature (same-day FX keeps Q2C-003 exact)
    won = pl.DataFrame(
        {
            "client_id": s["client_id"],
            "legal_entity_id": s["legal_entity_id"],
            "stage": "Closed Won",
            "is_won": True,
            "close_date": close,
            "amount": s["value"],
            "currency": s["currency"],
            "deal_type": "new",
            "parent_sow_id": None,
            "correlation_id": s["correlation_id"],
            "_sow": s["sow_id"],
        },
        schema_overrides={"parent_sow_id": pl.String},
    )
    n_lost = int(n * (1 - 0.45) / 0.45)
    cl = ctx.t["client"]
    ci = rng.integers(0, cl.height, n_lost)
    lost_close = rng.integers(ctx.start, ctx.A + 60, n_lost)
    is_open = lost_close > ctx.A
    le_ccy = dict(
        zip(ctx.t["legal_entity"]["legal_entity_id"], ctx.t["legal_entity"]["functional_ccy"], strict=True)
    )
    les = cl["_le"].to_numpy()[ci]
    lost = pl.DataFrame(
        {
            "client_id": cl["client_id"].to_numpy()[ci],
            "legal_entity_id": les,
            "stage": np.where(is_open, "Proposal", "Closed Lost"),
            "is_won": False,
            "close_date": lost_close,
            "amount": (
                np.round(rng.lognormal(np.log(ctx.sizing["avg_sow_value"]), 0.7, n_lost), -3) * 100
            ).astype(np.int64),
            "currency": [le_ccy[x] for x in les],
            "deal_type": "new",
            "parent_sow_id": None,
            "correlation_id": ids.correlation_ids(n_lost, start=10_000_000),
            "_sow": None,
        },
        schema_overrides={"parent_sow_id": pl.String, "_sow": pl.String},
    )
    am = ctx.t["amendment"].filter((pl.col("status") == "executed") & (pl.col("value_delta") > 0))
    co = am.join(
        s.select("sow_id", "client_id", "legal_entity_id", "currency", "correlation_id"), on="sow_id"
    )
    co = pl.DataFrame(
        {
            "client_id": co["client_id"],
            "legal_entity_id": co["legal_entity_id"],
            "stage": "Closed Won",
            "is_won": True,
            "close_date": co["signed_date"] - pl.Series(rng.integers(0, 6, co.height)),
            "amount": co["value_delta"],
            "currency": co["currency"],
            "deal_type": "change_order",
            "parent_sow_id": co["sow_id"],
            "correlation_id": co["correlation_id"],
            "_sow": None,
            "_amendment": co["amendment_id"],
        },
        schema_overrides={"_sow": pl.String},
    )
    opp = pl.concat([won, lost, co], how="diagonal_relaxed")
    m = opp.height
    opp = opp.with_columns(
        opportunity_id=ids.sf_ids("opportunity", m),
        name=pl.concat_str([pl.lit("Engagement "), pl.int_range(0, m).cast(pl.String)]),
        created_at=(
            pl.col("close_date")
            - pl.when(pl.col("deal_type") == "change_order")
            .then(pl.Series(rng.integers(0, 3, m)))
            .otherwise(pl.Series(rng.integers(20, 120, m)))
        )
        * DAY
        + pl.Series(rng.integers(9 * 3600, 18 * 3600, m)),
        owner_id=pl.lit(ids.sf_ids("user", 1).item()),
        source_system=pl.lit("salesforce"),
    ).with_columns(source_id=pl.col("opportunity_id"))
    ctx.t["opportunity"] = opp
    ctx.t["sow"] = s.join(
        opp.filter(pl.col("_sow").is_not_null()).select(pl.col("_sow").alias("sow_id"), "opportunity_id"),
        on="sow_id",
        how="left",
    )
    ctx.t["contract"] = ctx.t["contract"].with_columns(opportunity_id=pl.lit(None, pl.String))
