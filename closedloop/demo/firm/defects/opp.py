"""Opportunity → contract (CRM ↔ CLM): Q2C-001, Q2C-002, Q2C-003, Q2C-004, Q2C-005.

Q2C-001 — extra won 'new' opportunities with no SOW (verbal wins, D.2 #1: 3 % of won opps), close_date =
  as_of − 10 − exponential(mean 25 d). impact_rc = rc(amount, currency, close_date); entity opportunity.
  (Change-order opps are exempt when their parent SOW has an executed amendment signed ≥ close_date − 30.)
Q2C-002 — 1 % of executed SOWs whose opportunity is still open in CRM (stage 'Negotiation', is_won false).
  impact_rc = rc(value, currency, signed_date); entity sow.
Q2C-003 — 8 % of executed SOWs with won opps: opp amount = value / (1 + d), d ~ N(−3 %, 6 %), kept only when
  |diff_rc| > max(500, 1 % × opp_rc). Won opps close on the SOW signature date, so FX is the same day.
  impact_rc = |rc(value, ccy, signed_date) − rc(amount, ccy, close_date)|; entity sow.
Q2C-004 — 1 % of SOWs: CRM opp carries another client (or, with > 1 entity, another legal entity).
  impact_rc = rc(value, currency, signed_date); entity sow.
Q2C-005 — 5 % of FF/MILESTONE/RETAINER projects (these are not billed per hour, so no Q2C-032/033 side effects):
  the project was created before signature and 3-15 business days of billable time were booked before
  signed_date by an assigned resource, without work_at_risk_approved. impact_rc = ROUND(Σ hours × signed rate
  × fx(rate ccy, signed_date), 2); signed rate = the role's SOW-scope card with the earliest valid_from (the rate
  as signed); entity project. Co-trip: Q2C-037 (time before sow.start_date), keyed by defects/delivery.py.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from .. import ids
from ..calc import DAY
from ..ctx import Ctx
from ..frames import by_slices
from .base import key, pick, rc, sloppy, sow_effective


def inject(ctx: Ctx) -> None:
    """Mutate CRM opportunities and add pre-signature work."""
    rng = ctx.child_rng("inject-opp")
    opp = ctx.t["opportunity"]
    won = opp.filter(pl.col("is_won") & (pl.col("deal_type") == "new"))
    k = int(rng.binomial(won.height, min(1.0, 0.03 * ctx.defect_scale)))
    src = won.sample(k, seed=int(rng.integers(1 << 30)), with_replacement=True) if k else won.head(0)
    close = ctx.A - 10 - np.round(rng.exponential(25, k)).astype(np.int64)
    verbal = src.with_columns(
        opportunity_id=ids.sf_ids("opportunity", k, start=5_000_000),
        _sow=pl.lit(None, pl.String),
        close_date=pl.Series(close),
        created_at=pl.Series((close - 45) * DAY + 36000),
        correlation_id=ids.correlation_ids(k, start=20_000_000),
        name=pl.lit("Verbal win"),
    ).with_columns(source_id=pl.col("opportunity_id"))
    s = ctx.t["sow"].filter(pl.col("opportunity_id").is_not_null())
    a2 = pick(ctx, s, "Q2C-002")
    rest = s.filter(~pl.col("sow_id").is_in(a2["sow_id"].implode()))
    a3 = pick(ctx, rest, "Q2C-003", weight=sloppy(ctx, rest))
    rest = rest.filter(~pl.col("sow_id").is_in(a3["sow_id"].implode()))
    a4 = pick(ctx, rest, "Q2C-004")
    d = rng.normal(-0.03, 0.06, a3.height)
    d = np.where(np.abs(d) < 0.02, np.sign(d + 1e-9) * 0.02, d)
    amt = dict(
        zip(
            a3["opportunity_id"].to_list(),
            (np.round(a3["value"].to_numpy() / (1 + d) / 100) * 100).astype(np.int64).tolist(),
            strict=True,
        )
    )
    cl = ctx.t["client"]["client_id"].to_list()
    les = ctx.t["legal_entity"]["legal_entity_id"].to_list()
    swap_le = (rng.random(a4.height) < 0.5) & (len(les) > 1)
    other_client = {
        o: cl[(cl.index(c) + 1) % len(cl)] for o, c in zip(a4["opportunity_id"], a4["client_id"], strict=True)
    }
    other_le = {
        o: les[(les.index(x) + 1) % len(les)]
        for o, x in zip(a4["opportunity_id"], a4["legal_entity_id"], strict=True)
    }
    le_ids = a4["opportunity_id"].filter(pl.Series(swap_le)).implode()
    cl_ids = a4["opportunity_id"].filter(pl.Series(~swap_le)).implode()
    opp = opp.with_columns(
        stage=pl.when(pl.col("opportunity_id").is_in(a2["opportunity_id"].implode()))
        .then(pl.lit("Negotiation"))
        .otherwise("stage"),
        is_won=pl.when(pl.col("opportunity_id").is_in(a2["opportunity_id"].implode()))
        .then(False)
        .otherwise("is_won"),
        amount=pl.col("opportunity_id").replace_strict(amt, default=pl.col("amount"), return_dtype=pl.Int64),
        client_id=pl.when(pl.col("opportunity_id").is_in(cl_ids))
        .then(pl.col("opportunity_id").replace_strict(other_client, default=None, return_dtype=pl.String))
        .otherwise("client_id"),
        legal_entity_id=pl.when(pl.col("opportunity_id").is_in(le_ids))
        .then(pl.col("opportunity_id").replace_strict(other_le, default=None, return_dtype=pl.String))
        .otherwise("legal_entity_id"),
    )
    ctx.t["opportunity"] = pl.concat([opp, verbal.select(opp.columns)])
    _pre_signature(ctx, rng)


def _pre_signature(ctx: Ctx, rng: np.random.Generator) -> None:
    p = ctx.t["project"].filter(pl.col("billing_type").is_in(["FF", "MILESTONE", "RETAINER"]))
    a = pick(ctx, p, "Q2C-005")
    if not a.height:
        return
    s = ctx.t["sow"].select("sow_id", "signed_date")
    a = a.join(s, on="sow_id")
    nbd = rng.integers(3, 16, a.height)
    b_sig = ctx.cal.bdn(a["signed_date"].to_numpy())
    start_b = b_sig - nbd
    asg = (
        ctx.t["assignment"]
        .sort("project_id", "start_date")
        .group_by("project_id", maintain_order=True)
        .first()
    )
    a = a.join(asg.select("project_id", "resource_id", "role", "_ri"), on="project_id")
    rows = []
    res = ctx.t["resource"]
    for r, b0, n in zip(a.iter_rows(named=True), start_b, nbd, strict=True):
        days = ctx.cal.bd_days[np.arange(b0, b0 + n) - 1]
        rows.append(
            pl.DataFrame(
                {
                    "project_id": r["project_id"],
                    "resource_id": r["resource_id"],
                    "role": r["role"],
                    "work_date": days,
                    "_ri": r["_ri"],
                    "_si": r["_si"],
                    "correlation_id": r["correlation_id"],
                }
            )
        )
    new = pl.concat(rows)
    n = new.height
    grid = ctx.notes["rate_grid"]
    from ..params import ROLES

    role_i = np.searchsorted(np.array(sorted(ROLES)), new["role"].to_numpy())
    rate = grid[new["_si"].to_numpy(), 0, role_i]
    hours = np.full(n, 400)
    task = ctx.t["task"].filter(pl.col("billable")).group_by("project_id", maintain_order=True).first()
    sub = (new["work_date"].to_numpy() + 1) * DAY + 17 * 3600
    te = ctx.t["time_entry"]
    new = (
        new.join(task.select("project_id", "task_id"), on="project_id", how="left")
        .with_columns(
            time_entry_id=ids.ns_ids("timebill", n, start=50_000_000),
            hours=pl.Series(hours),
            billable=pl.lit(True),
            approval_status=pl.lit("approved"),
            submitted_at=pl.Series(sub),
            approved_at=pl.Series(sub + 7200),
            resource_legal_entity_id=pl.Series(res["legal_entity_id"].to_numpy()[new["_ri"].to_numpy()]),
            cost_rate=pl.Series(res["cost_rate"].to_numpy()[new["_ri"].to_numpy()]),
            _rate=pl.Series(rate),
            _value=pl.Series(hours * rate // 100),
            _ver=pl.lit(0),
            source_system=pl.lit("netsuite"),
            invoice_line_id=pl.lit(None, pl.String),
        )
        .with_columns(source_id=pl.col("time_entry_id"))
    )
    cols = [c for c in te.columns if c in new.columns]
    del te
    ctx.append_rows("time_entry", new.select(cols), how="diagonal_relaxed")
    early = new.group_by("project_id").agg(pl.col("work_date").min().alias("_w"))
    ctx.t["project"] = (
        ctx.t["project"]
        .join(early, on="project_id", how="left")
        .with_columns(
            created_at=pl.when(pl.col("_w").is_not_null())
            .then((pl.col("_w") - 2) * DAY + 36000)
            .otherwise("created_at")
        )
        .drop("_w")
    )
    ctx.t["assignment"] = (
        ctx.t["assignment"]
        .join(early, on="project_id", how="left")
        .with_columns(start_date=pl.min_horizontal("start_date", "_w"))
        .drop("_w")
    )


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 001-005."""
    se = sow_effective(ctx)
    opp = ctx.t["opportunity"]
    out = []
    exec_opp = (
        se.filter(pl.col("status").is_in(["executed", "completed"]))["opportunity_id"].drop_nulls().implode()
    )
    am = (
        ctx.t["amendment"]
        .filter(pl.col("status") == "executed")
        .select(pl.col("sow_id").alias("parent_sow_id"), pl.col("signed_date").alias("_as"))
    )
    w = opp.filter(
        pl.col("is_won")
        & (pl.col("deal_type") != "renewal_auto")
        & (pl.col("close_date") <= ctx.A - 10)
        & ~pl.col("opportunity_id").is_in(exec_opp)
    )
    co_ok = (
        w.filter(pl.col("deal_type") == "change_order")
        .join(am, on="parent_sow_id")
        .filter(pl.col("_as") >= pl.col("close_date") - 30)["opportunity_id"]
        .implode()
    )
    w = w.filter(~pl.col("opportunity_id").is_in(co_ok))
    out.append(
        key(
            "Q2C-001",
            "opportunity",
            [
                (
                    r["opportunity_id"],
                    r["correlation_id"],
                    rc(ctx, r["amount"], r["currency"], r["close_date"]),
                    r["stage"],
                )
                for r in w.iter_rows(named=True)
            ],
        )
    )
    ex = se.filter(pl.col("status") == "executed").join(
        opp.select(
            "opportunity_id",
            "is_won",
            pl.col("client_id").alias("_oc"),
            pl.col("legal_entity_id").alias("_ol"),
            pl.col("amount").alias("_oa"),
            pl.col("currency").alias("_occy"),
            "close_date",
        ),
        on="opportunity_id",
        how="left",
    )
    b = ex.filter(pl.col("is_won").is_null() | ~pl.col("is_won"))
    out.append(
        key(
            "Q2C-002",
            "sow",
            [
                (r["sow_id"], r["correlation_id"], rc(ctx, r["value"], r["currency"], r["signed_date"]), "")
                for r in b.iter_rows(named=True)
            ],
        )
    )
    rows = []
    for r in ex.filter(pl.col("is_won").fill_null(False)).iter_rows(named=True):
        s_rc = rc(ctx, r["value"], r["currency"], r["signed_date"])
        o_rc = rc(ctx, r["_oa"], r["_occy"], r["close_date"])
        if abs(s_rc - o_rc) > max(Decimal(500), Decimal("0.01") * o_rc):
            rows.append((r["sow_id"], r["correlation_id"], abs(s_rc - o_rc), f"sow={s_rc} opp={o_rc}"))
    out.append(key("Q2C-003", "sow", rows))
    d = ex.filter(
        pl.col("_oc").is_not_null()
        & (
            (pl.col("_oc") != pl.col("client_id"))
            | (pl.coalesce("_ol", "legal_entity_id") != pl.col("legal_entity_id"))
        )
    )
    out.append(
        key(
            "Q2C-004",
            "sow",
            [
                (r["sow_id"], r["correlation_id"], rc(ctx, r["value"], r["currency"], r["signed_date"]), "")
                for r in d.iter_rows(named=True)
            ],
        )
    )
    first = (
        ctx.t["project"]
        .select("project_id", "sow_id")
        .join(se.select("sow_id", "signed_date", "work_at_risk_approved"), on="sow_id")
    )
    signed_rate = (  # the rate as signed: SOW-scope card per role with the earliest valid_from
        ctx.t["rate_card"]
        .filter(pl.col("scope") == "SOW")
        .sort("valid_from", "rate_card_id")
        .group_by("sow_id", "role", maintain_order=True)
        .first()
        .select("sow_id", "role", pl.col("currency").alias("_rccy"), pl.col("bill_rate").alias("_sr"))
    )

    def early(te: pl.DataFrame) -> pl.DataFrame:
        return (
            te.select("project_id", "role", "work_date", "hours", "correlation_id", "billable")
            .filter(pl.col("billable"))
            .join(first, on="project_id")
            .filter(
                (pl.col("signed_date").is_null() | (pl.col("work_date") < pl.col("signed_date")))
                & ~pl.col("work_at_risk_approved").fill_null(False)
            )
        )

    # row-wise up to the per-project sums below (each group's first row only lends per-project values: its
    # correlation id, SOW signature and SOW rate currency), so slices of entries give the same rows
    te = by_slices(ctx.t["time_entry"], early).join(signed_rate, on=["sow_id", "role"], how="left")
    rows = []
    for (pid,), g in te.group_by("project_id", maintain_order=True):
        r0 = g.row(0, named=True)
        units = int((g["hours"] * g["_sr"].fill_null(0)).sum())  # 1e-4 currency units, exact
        ccy = g["_rccy"].drop_nulls()
        imp = (
            Decimal(0)
            if r0["signed_date"] is None or not len(ccy)
            else Decimal(
                int(ctx.fx.rc_units(np.array([units]), 4, [ccy[0]], np.array([r0["signed_date"]]))[0])
            )
            / 100
        )
        rows.append((pid, r0["correlation_id"], imp, f"entries={g.height}"))
    out.append(key("Q2C-005", "project", sorted(rows)))
    return pl.concat(out)
