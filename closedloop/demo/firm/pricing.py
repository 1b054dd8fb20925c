"""Price SOWs from simulated work, settle amendment deltas, milestones and budgets, then cut time at as_of."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY, masked, month_index
from .ctx import Ctx

UNIT = 100_000  # SOW values are whole thousands of currency units (cents * 1000)


def _round_to(x: np.ndarray, unit: int) -> np.ndarray:
    return (np.round(x / unit) * unit).astype(np.int64)


def price(ctx: Ctx) -> None:
    """SOW value / cap / retainer fee from the work each SOW actually needs (so values stay realistic)."""
    rng = ctx.child_rng("price")
    s = ctx.t["sow"]
    n = s.height
    te = ctx.t["time_entry"]
    agg = te.group_by("_si").agg(pl.col("_value").sum().alias("V"), pl.col("hours").sum().alias("H"))
    V = np.zeros(n, np.int64)
    H = np.zeros(n, np.int64)
    V[agg["_si"].to_numpy()] = agg["V"].to_numpy()
    H[agg["_si"].to_numpy()] = agg["H"].to_numpy()
    fx0 = ctx.fx.rate_e8(s["currency"].to_list(), s["signed_date"].to_numpy()) / 1e8
    guess = rng.lognormal(np.log(ctx.sizing["avg_sow_value"]), 0.6, n) / fx0 * 100
    V = np.where(V > 0, V, guess.astype(np.int64))
    bt = s["billing_type"].to_numpy()
    ms = s["start_date"].to_numpy()
    orig_months = month_index(s["end_date"].to_numpy()) - month_index(ms) + 1
    eff_months = month_index(s["_eff_end"].to_numpy()) - month_index(ms) + 1
    fee = _round_to(V / eff_months * rng.uniform(1.0, 1.2, n), 10_000)
    final_cap = (np.ceil(V / 0.8 / UNIT) * UNIT).astype(np.int64)
    value = np.select(
        [bt == "TM", bt == "TM_CAP", np.isin(bt, ["FF", "MILESTONE"]), bt == "RETAINER"],
        [
            _round_to(V * rng.uniform(0.9, 1.1, n), UNIT),
            final_cap,
            _round_to(V * rng.uniform(1.0, 1.3, n), UNIT),
            fee * orig_months,
        ],
    )
    value = np.maximum(value, UNIT)
    am = ctx.t["amendment"]
    si = am["_si"].to_numpy()
    ct = am["change_type"].to_numpy()
    ex = am["status"].to_numpy() == "executed"
    u = am["_u"].to_numpy()
    delta = np.select(
        [(ct == "value") & (bt[si] == "TM"), ct == "value", (ct == "end_date") & (bt[si] == "RETAINER")],
        [
            _round_to(value[si] * (-0.1 + 0.35 * u), UNIT),
            _round_to(value[si] * (0.1 + 0.2 * u), UNIT),
            fee[si] * am["_ext_m"].to_numpy(),
        ],
        0,
    ).astype(np.int64)
    # TM_CAP: the executed cap raise must leave the original cap above 85 % of work done before it
    cap_rows = np.flatnonzero((ct == "cap") & ex)
    new_cap = np.full(len(am), -1, np.int64)
    if len(cap_rows):
        cap_te = te.select("_si", "work_date", "_value").join(
            pl.DataFrame({"_si": si[cap_rows], "_eff": am["effective_date"].to_numpy()[cap_rows]}), on="_si"
        )
        before = (
            cap_te.filter(pl.col("work_date") < pl.col("_eff")).group_by("_si").agg(pl.col("_value").sum())
        )
        vb = dict(zip(before["_si"].to_list(), before["_value"].to_list(), strict=True))
        for r in cap_rows:
            room = final_cap[si[r]] - int(np.ceil(vb.get(si[r], 0) / 0.85 / UNIT) * UNIT)
            d = min(_round_to(np.array([final_cap[si[r]] * (0.15 + 0.15 * u[r])]), UNIT)[0], room)
            delta[r] = max(d, 0)
            new_cap[r] = final_cap[si[r]]
        value[si[cap_rows]] = final_cap[si[cap_rows]] - delta[cap_rows]
    delta = np.where(ex | (ct != "cap"), delta, 0)
    am = am.with_columns(
        value_delta=pl.Series(delta), new_cap_amount=masked(new_cap, new_cap >= 0)
    ).with_columns(
        change_type=pl.when(
            (pl.col("change_type") == "cap") & (pl.col("value_delta") == 0) & (pl.col("status") == "executed")
        )
        .then(pl.lit("end_date"))
        .otherwise("change_type")
    )
    eff_delta = np.bincount(si[ex], weights=delta[ex], minlength=n).astype(np.int64)
    cap = masked(value, bt == "TM_CAP")
    ctx.t["amendment"] = am
    ctx.t["sow"] = s.with_columns(
        value=pl.Series(value),
        cap_amount=cap,
        _eff_value=pl.Series(value + eff_delta),
        _fee=pl.Series(fee),
        _H=pl.Series(H),
        _orig_months=pl.Series(orig_months),
    )
    p = ctx.t["project"]
    so = ctx.t["sow"]
    eff_val = so["_eff_value"].to_numpy()[p["_si"].to_numpy()]
    Hp = so["_H"].to_numpy()[p["_si"].to_numpy()] / 100.0
    bh = np.round(Hp * rng.uniform(1.0, 1.08, p.height), 1)
    ctx.t["project"] = p.with_columns(
        budget_amount=pl.Series(eff_val),
        budget_hours=pl.Series(bh),
        budget_subcontract_cost=pl.lit(0, pl.Int64),
    )


def milestones(ctx: Ctx) -> None:
    """CLM milestones for MILESTONE SOWs (3-5 equal parts) plus one per executed value amendment."""
    rng = ctx.child_rng("milestone")
    s = ctx.t["sow"].with_row_index("_sj")
    ms = s.filter(pl.col("billing_type") == "MILESTONE")
    k = 3 + rng.integers(0, 3, ms.height)
    r = np.repeat(np.arange(ms.height), k)
    j = np.arange(len(r)) - np.repeat(np.cumsum(k) - k, k)
    val = ms["value"].to_numpy()[r]
    base = val // k[r]
    amt = np.where(j == k[r] - 1, val - base * (k[r] - 1), base)
    st, en = ms["start_date"].to_numpy()[r], ms["end_date"].to_numpy()[r]
    due = st + ((en - st) * (j + 1) / k[r]).astype(np.int64)
    rows = pl.DataFrame(
        {
            "sow_id": ms["sow_id"].to_numpy()[r],
            "amount": amt,
            "due_date": due,
            "correlation_id": ms["correlation_id"].to_numpy()[r],
            "name": [f"Milestone {x + 1}" for x in j],
            "_amendment": None,
        },
        schema_overrides={"_amendment": pl.String},
    )
    am = ctx.t["amendment"].join(
        s.select("sow_id", "billing_type", "_eff_end", "correlation_id"), on="sow_id"
    )
    am = am.filter(
        (pl.col("billing_type") == "MILESTONE")
        & (pl.col("status") == "executed")
        & (pl.col("value_delta") > 0)
    )
    add = pl.DataFrame(
        {
            "sow_id": am["sow_id"],
            "amount": am["value_delta"],
            "due_date": np.minimum(
                am["effective_date"].to_numpy() + rng.integers(30, 60, am.height), am["_eff_end"].to_numpy()
            ),
            "correlation_id": am["correlation_id"],
            "name": "Change order milestone",
            "_amendment": am["amendment_id"],
        }
    )
    m = pl.concat([rows, add]).sort("sow_id", "due_date")
    n = m.height
    acc = rng.random(n) < 0.85
    end = m.join(s.select("sow_id", "_eff_end"), on="sow_id", how="left", maintain_order="left")[
        "_eff_end"
    ].to_numpy()
    completed = np.minimum(m["due_date"].to_numpy() + np.round(rng.normal(0, 4, n)).astype(np.int64), end)
    accepted = completed + rng.integers(1, 8, n)
    done = completed <= ctx.A
    accd = acc & (accepted <= ctx.A)
    proj = ctx.t["project"].select("sow_id", "project_id")
    ctx.t["milestone"] = (
        m.with_columns(
            milestone_id=ids.ns_ids("milestone", n),
            billing_trigger=pl.Series(np.where(acc, "acceptance", "date")),
            completed_date=masked(completed, done),
            accepted_date=masked(accepted, accd),
            status=pl.Series(np.where(accd, "accepted", np.where(done, "completed", "planned"))),
            source_system=pl.lit("netsuite"),
        )
        .with_columns(source_id=pl.col("milestone_id"))
        .join(proj, on="sow_id", how="left")
    )


def cut_time(ctx: Ctx) -> None:
    """Drop future work and stamp submission/approval (PSA timesheet workflow) as seen at as_of."""
    rng = ctx.child_rng("approval")
    ctx.filter_table("time_entry", pl.col("work_date") <= ctx.A)
    te = ctx.t["time_entry"]
    n = te.height
    sub = (
        (te["work_date"].to_numpy() + rng.integers(0, 4, n)) * DAY + 17 * 3600 + rng.integers(0, 4 * 3600, n)
    )
    lag_fn = ctx.notes.get("approval_lag_fn")
    lag = lag_fn(rng, te) if lag_fn else rng.integers(2 * 3600, 72 * 3600, n)
    appr = sub + lag
    submitted = sub < ctx.as_of_ts
    approved = appr < ctx.as_of_ts
    # source_id (= time_entry_id) is added in build.py after the defects: as a working column it is one more
    # 16-byte string per entry, copied by every filter and concat
    ctx.t["time_entry"] = te.with_columns(
        time_entry_id=ids.ns_ids("timebill", n),
        submitted_at=masked(sub, submitted),
        approved_at=masked(appr, approved),
        # as np.where(approved, "approved", np.where(submitted, "submitted", "open")), without numpy's fixed-width
        # text arrays (36 bytes per entry each, GBs at tier l)
        approval_status=pl.when(pl.Series(approved))
        .then(pl.lit("approved"))
        .when(pl.Series(submitted))
        .then(pl.lit("submitted"))
        .otherwise(pl.lit("open")),
        source_system=pl.lit("netsuite"),
    )
