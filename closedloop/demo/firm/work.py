"""Delivery: projects, assignments, tasks, rate cards and the vectorised time simulation that prices the SOWs."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY, dnum, masked
from .ctx import Ctx
from .params import ROLE_RATE_USD, ROLES, ROWS_PER_BILLABLE_PERSON_DAY

OPEN_END = dnum(__import__("datetime").date(9999, 12, 31))
HOURS = np.array([100, 150, 200, 250, 300, 400, 500, 600, 800])  # hundredths
HOURS_P = np.array([0.10, 0.12, 0.20, 0.14, 0.16, 0.12, 0.07, 0.05, 0.04])


def projects(ctx: Ctx) -> None:
    """One primary project per SOW, created lead_bd business days after signature (K01)."""
    rng = ctx.child_rng("project")
    s = ctx.t["sow"]
    lead = s["_lead"].to_numpy()
    never = lead >= 10**6
    created_day = ctx.cal.add_bd(s["signed_date"].to_numpy(), np.where(never, 0, lead))
    created_day = np.where(never, 10**7, created_day)
    exists = created_day <= ctx.A
    p = s.filter(pl.Series(exists)).with_columns(
        _created_day=pl.Series(created_day[exists]), _si=pl.Series(np.flatnonzero(exists))
    )
    n = p.height
    le = ctx.t["legal_entity"]
    res = ctx.t["resource"]
    pm_pool = res.with_row_index("_ri").filter(pl.col("role").is_in(["Manager", "Director"]))
    pm = _pick_by_le(rng, pm_pool, p["legal_entity_id"].to_numpy())
    status = np.where(p["_eff_end"].to_numpy() < ctx.A - 5, "closed", "active")
    closed = np.minimum(p["_eff_end"].to_numpy() + rng.integers(3, 20, n), ctx.A)
    region = dict(zip(le["legal_entity_id"], le["_region"], strict=True))
    ctx.t["project"] = (
        p.select(
            "sow_id",
            "client_id",
            "legal_entity_id",
            "billing_type",
            "currency",
            "start_date",
            "po_number",
            "payment_terms_days",
            "correlation_id",
            "_created_day",
            "_si",
            "_team",
            pl.col("_eff_end").alias("end_date"),
        )
        .with_columns(
            project_id=ids.ns_ids("job", n),
            name=pl.concat_str([pl.lit("PRJ-"), pl.int_range(10000, 10000 + n).cast(pl.String)]),
            created_at=pl.col("_created_day") * DAY + pl.Series(rng.integers(10 * 3600, 17 * 3600, n)),
            status=pl.Series(status),
            closed_date=masked(closed, status == "closed"),
            pm_id=pl.Series(res["resource_id"].to_numpy()[pm]),
            practice=pl.Series(res["practice"].to_numpy()[pm]),
            region=pl.col("legal_entity_id").replace_strict(region),
            project_role=pl.lit("primary"),
            source_system=pl.lit("netsuite"),
            _work_start=pl.max_horizontal("start_date", pl.col("_created_day") + 1),
        )
        .with_columns(source_id=pl.col("project_id"))
    )


def _pick_by_le(rng: np.random.Generator, pool: pl.DataFrame, want_le: np.ndarray) -> np.ndarray:
    """Row indices into the resource table, uniform within each wanted legal entity's pool."""
    pool = pool.sort("legal_entity_id", "_ri")
    les, starts, counts = np.unique(pool["legal_entity_id"].to_numpy(), return_index=True, return_counts=True)
    pos = np.searchsorted(les, want_le)
    pos = np.clip(pos, 0, len(les) - 1)
    ok = les[pos] == want_le
    pos = np.where(ok, pos, rng.integers(0, len(les), len(want_le)))
    pick = starts[pos] + np.floor(rng.random(len(want_le)) * counts[pos]).astype(np.int64)
    return pool["_ri"].to_numpy()[pick].astype(np.int64)


def staff_and_simulate(ctx: Ctx) -> None:
    """Assignments, tasks, rate cards and time rows (vectorised); prices SOWs from the simulated work."""
    rng = ctx.child_rng("time")
    p = ctx.t["project"]
    res = ctx.t["resource"]
    n_p = p.height
    team = p["_team"].to_numpy()
    a_p = np.repeat(np.arange(n_p), team)
    first = np.r_[True, a_p[1:] != a_p[:-1]]
    ws, we = p["_work_start"].to_numpy()[a_p], p["end_date"].to_numpy()[a_p]
    span = np.maximum(we - ws, 0)
    frac_lo, frac_len = rng.random(len(a_p)) * 0.5, 0.3 + rng.random(len(a_p)) * 0.7
    a_s = np.where(first, ws, ws + np.floor(span * frac_lo).astype(np.int64))
    a_e = np.where(first, we, np.minimum(we, a_s + np.ceil(span * frac_len).astype(np.int64)))
    proj_le = p["legal_entity_id"].to_numpy()[a_p]
    les = ctx.t["legal_entity"]["legal_entity_id"].to_numpy()
    cross = (rng.random(len(a_p)) < 0.10) & (len(les) > 1)
    want = np.where(cross, les[rng.integers(0, len(les), len(a_p))], proj_le)
    pool = res.with_row_index("_ri").filter(pl.col("_billable"))
    ri = _pick_by_le(rng, pool, want)
    asg = pl.DataFrame(
        {
            "_pi": a_p,
            "project_id": p["project_id"].to_numpy()[a_p],
            "resource_id": res["resource_id"].to_numpy()[ri],
            "_ri": ri,
            "role": res["role"].to_numpy()[ri],
            "start_date": a_s,
            "end_date": a_e,
            "correlation_id": p["correlation_id"].to_numpy()[a_p],
        }
    )
    asg = asg.unique(["project_id", "resource_id"], keep="first", maintain_order=True)
    # expand assignments to business days, then Poisson rows per day calibrated to §C volumes
    cal = ctx.cal
    b0 = cal.bdn(asg["start_date"].to_numpy() - 1)
    b1 = cal.bdn(asg["end_date"].to_numpy())
    cnt = np.maximum(b1 - b0, 0)
    rep = np.repeat(np.arange(asg.height), cnt)
    off = np.arange(len(rep)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    day = cal.bd_days[np.repeat(b0, cnt) + off]
    in_year = ((day > ctx.A - 365) & (day <= ctx.A)).sum()
    target = ROWS_PER_BILLABLE_PERSON_DAY * ctx.sizing["billable_fte"] * cal.bd_diff(ctx.A - 365, ctx.A)
    lam = target / max(in_year, 1)
    k = rng.poisson(lam, len(rep))
    rep, day = np.repeat(rep, k), np.repeat(day, k)
    del k
    n = len(rep)
    hours = rng.choice(HOURS, n, p=HOURS_P)
    pi = asg["_pi"].to_numpy()[rep]
    # tasks: 3-5 billable per project, half the projects also have a non-billable coordination task
    nt = 3 + rng.integers(0, 3, n_p)
    has_nb = rng.random(n_p) < 0.5
    t_cnt = nt + has_nb
    t_off = np.cumsum(t_cnt) - t_cnt
    # per-row temporaries one at a time (the same draws in the same order): at tier l each is ~200 MB
    nb = rng.random(n) < 0.05
    nb &= has_nb[pi]
    nt_pi = nt[pi]
    task_i = rng.random(n) * nt_pi
    np.floor(task_i, out=task_i)
    task_i = task_i.astype(np.int64)
    task_i[nb] = nt_pi[nb]
    del nb, nt_pi
    task_i += t_off[pi]
    tp = np.repeat(np.arange(n_p), t_cnt)
    tk = np.arange(len(tp)) - t_off[tp]
    task = pl.DataFrame(
        {
            "task_id": ids.ns_ids("projecttask", len(tp)),
            "project_id": p["project_id"].to_numpy()[tp],
            "wbs_code": [f"1.{i + 1}" for i in tk],
            "billable": tk < nt[tp],
            "name": np.where(tk < nt[tp], "Delivery workstream", "Internal coordination"),
            "correlation_id": p["correlation_id"].to_numpy()[tp],
            "_pi": tp,
        }
    )
    ctx.t["task"] = task.with_columns(source_system=pl.lit("netsuite"), source_id=pl.col("task_id"))
    ctx.t["assignment"] = asg.with_columns(
        source_system=pl.lit("netsuite"),
        source_id=pl.concat_str(["project_id", "resource_id"], separator=":"),
    )
    _rate_cards(ctx, rng)
    # Rows are put in (work_date, project_id, resource_id) order before the frame exists: the stable sort's
    # permutation from the three keys alone, applied to the row arrays, instead of sorting a full-width copy.
    keys = pl.DataFrame(
        {
            "work_date": day,
            "project_id": p["project_id"].gather(pi),
            "resource_id": asg["resource_id"].gather(rep),
        }
    )
    order = keys.select(pl.arg_sort_by(keys.columns, maintain_order=True)).to_series().to_numpy()
    del keys
    pi, rep, day, hours, task_i = pi[order], rep[order], day[order], hours[order], task_i[order]
    del order
    si = p["_si"].to_numpy()[pi]
    role_i = np.searchsorted(np.array(sorted(ROLES)), asg["role"].to_numpy())[rep]
    ver = _version_at(ctx, si, day)
    rate = ctx.notes["rate_grid"][si, ver, role_i]
    del role_i
    value = (hours * rate + 50) // 100
    ri_rep = asg["_ri"].to_numpy()[rep]
    ctx.t["time_entry"] = pl.DataFrame(
        {
            "_si": si,
            "_ver": ver,
            "project_id": p["project_id"].gather(pi),
            "task_id": task["task_id"].gather(task_i),
            "resource_id": asg["resource_id"].gather(rep),
            "resource_legal_entity_id": res["legal_entity_id"].gather(ri_rep),
            "role": asg["role"].gather(rep),
            "work_date": day,
            "hours": hours,
            "billable": task["billable"].gather(task_i),
            "cost_rate": res["cost_rate"].gather(ri_rep),
            "_rate": rate,
            "_value": value,
            "correlation_id": p["correlation_id"].gather(pi),
        }
    )


def _rate_cards(ctx: Ctx, rng: np.random.Generator) -> None:
    """SOW-scope rate card versions (a rate amendment opens a new version) plus STANDARD cards per currency."""
    s = ctx.t["sow"]
    am = ctx.t["amendment"]
    n = s.height
    roles = sorted(ROLES)
    std_usd = np.array([ROLE_RATE_USD[ROLES.index(r)] for r in roles], dtype=float)
    fx0 = ctx.fx.rate_e8(s["currency"].to_list(), s["signed_date"].to_numpy()) / 1e8
    base = np.round(std_usd[None, :] * rng.uniform(0.85, 1.1, (n, 1)) / fx0[:, None]) * 100
    ra = am.filter((pl.col("change_type") == "rate") & (pl.col("status") == "executed")).sort(
        "sow_id", "amendment_no"
    )
    sidx = {sid: i for i, sid in enumerate(s["sow_id"].to_list())}
    ra_si = np.array([sidx[x] for x in ra["sow_id"]], dtype=np.int64)
    ra_v = ra.with_columns(_v=pl.int_range(1, pl.len() + 1).over("sow_id"))["_v"].to_numpy()
    max_v = int(ra_v.max()) if len(ra_v) else 0
    grid = np.repeat(base[:, None, :], max_v + 1, axis=1).astype(np.int64)
    eff = np.full((n, max_v + 1), OPEN_END + 1, dtype=np.int64)
    eff[:, 0] = s["signed_date"].to_numpy() - 60
    up = rng.uniform(1.03, 1.08, len(ra_si))
    for v in range(1, max_v + 1):
        sel = ra_v == v
        grid[ra_si[sel], v:, :] = (np.round(grid[ra_si[sel], v - 1, :] * up[sel, None] / 100) * 100).astype(
            np.int64
        )[:, None, :]
        eff[ra_si[sel], v] = ra["effective_date"].to_numpy()[sel]
    ctx.notes["rate_grid"], ctx.notes["rate_eff"] = grid, eff
    card_ids = ids.ironclad_ids("ratecard", n * (max_v + 1)).to_numpy().reshape(n, max_v + 1)
    rows = []
    for v in range(max_v + 1):
        has = eff[:, v] <= OPEN_END
        nxt = eff[:, v + 1] if v < max_v else np.full(n, OPEN_END + 1)
        for j, r in enumerate(roles):
            rows.append(
                pl.DataFrame(
                    {
                        "rate_card_id": card_ids[has, v],
                        "sow_id": s["sow_id"].to_numpy()[has],
                        "contract_id": s["contract_id"].to_numpy()[has],
                        "role": r,
                        "currency": s["currency"].to_numpy()[has],
                        "bill_rate": grid[has, v, j],
                        "valid_from": eff[has, v],
                        "valid_to": np.minimum(nxt[has] - 1, OPEN_END),
                        "correlation_id": s["correlation_id"].to_numpy()[has],
                        "_si": np.flatnonzero(has),
                        "_v": v,
                    }
                )
            )
    sow_rc = pl.concat(rows).with_columns(scope=pl.lit("SOW"))
    ctx.t["amendment"] = am.join(
        ra.select("amendment_id").with_columns(
            new_rate_card_id=pl.Series(card_ids[ra_si, ra_v] if len(ra_si) else [], dtype=pl.String)
        ),
        on="amendment_id",
        how="left",
    )
    ccys = sorted(set(s["currency"]))
    std = []
    for c in ccys:
        f = ctx.fx.rate_e8([c], np.array([ctx.start]))[0] / 1e8
        cid = ids.ironclad_ids("ratecard", 1, start=10_000_000 + ccys.index(c)).item()
        for j, r in enumerate(roles):
            std.append((cid, r, c, int(round(std_usd[j] / f) * 100)))
    std_rc = pl.DataFrame(
        std, schema=["rate_card_id", "role", "currency", "bill_rate"], orient="row"
    ).with_columns(scope=pl.lit("STANDARD"), valid_from=pl.lit(ctx.start - 400), valid_to=pl.lit(OPEN_END))
    ctx.t["rate_card"] = pl.concat([sow_rc, std_rc], how="diagonal_relaxed").with_columns(
        discount_pct=pl.lit(0.0),
        source_system=pl.lit("ironclad"),
        source_id=pl.concat_str(["rate_card_id", "role"], separator=":"),
    )


def _version_at(ctx: Ctx, si: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Rate-card version in force for each (SOW, work date)."""
    eff = ctx.notes["rate_eff"]
    # one version column at a time: an (entries × versions) temporary is GBs at tier l
    ver = np.zeros(len(si), np.int64)
    for v in range(1, eff.shape[1]):
        ver += eff[si, v] <= day
    return ver
