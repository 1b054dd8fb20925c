"""Firm master and reference data: legal entities, clients, resources, fx, calendar, policy matrices."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from . import ids
from .calc import DAY, Calendar, Fx, month_end, month_start
from .ctx import Ctx
from .params import (
    APPROVAL_ROLES,
    COST_SHARE,
    ENTITIES,
    EXPENSE_CATEGORIES,
    EXPENSE_POLICIES,
    FX_START,
    HOLIDAYS_MD,
    PRACTICES,
    ROLE_MIX,
    ROLE_RATE_USD,
    ROLES,
    n_entities,
)

LOCAL_HOLIDAY = {
    "US": (7, 4),
    "GB": (8, 25),
    "DE": (10, 3),
    "CA": (7, 1),
    "AU": (1, 26),
    "IN": (8, 15),
    "FR": (7, 14),
    "NL": (4, 27),
    "SG": (8, 9),
    "JP": (11, 3),
    "CH": (8, 1),
    "SE": (6, 6),
}


def build(ctx: Ctx) -> None:
    """Populate entities, calendar, fx, clients, resources and the reference matrices."""
    rng = ctx.child_rng("master")
    _entities(ctx)
    _calendar(ctx)
    _fx(ctx, rng)
    _clients(ctx, rng)
    _resources(ctx, rng)
    _reference(ctx)


def _entities(ctx: Ctx) -> None:
    n = n_entities(ctx.people)
    ent = ENTITIES[:n]
    le_ids = ids.ns_ids("subsidiary", n)
    ctx.t["legal_entity"] = pl.DataFrame(
        {
            "legal_entity_id": le_ids,
            "name": [f"Closedloop Consulting {c} {i + 1}" for i, (c, *_) in enumerate(ent)],
            "country": [e[0] for e in ent],
            "functional_ccy": [e[1] for e in ent],
            "tax_registration": [f"{e[0]}{100000000 + 7919 * i}" for i, e in enumerate(ent)],
            "_vat": [e[2] for e in ent],
            "_region": [e[3] for e in ent],
            "_weight": np.r_[3.0, np.ones(n - 1)] / (n + 2),
        }
    ).with_columns(source_system=pl.lit("netsuite"), source_id=pl.col("legal_entity_id"))


def _calendar(ctx: Ctx) -> None:
    first, last = ctx.start - 400, ctx.A + 800
    days = np.arange(first, last + 1)
    dt = days.astype("datetime64[D]")
    dow = (days + 3) % 7  # 0 = Monday
    md = [
        (int(m), int(d))
        for m, d in zip(
            dt.astype("datetime64[M]").astype(int) % 12 + 1,
            (dt - dt.astype("datetime64[M]")).astype(int) + 1,
            strict=True,
        )
    ]
    md_arr = np.array([m * 100 + d for m, d in md])
    firm_hol = np.isin(md_arr, [m * 100 + d for m, d in HOLIDAYS_MD])
    is_bd = (dow < 5) & ~firm_hol
    ctx.cal = Calendar(first, is_bd)
    frames = [
        pl.DataFrame(
            {"d": days, "is_business_day": is_bd, "legal_entity_id": None, "bd_no": np.cumsum(is_bd)},
            schema_overrides={"legal_entity_id": pl.String},
        )
    ]
    le = ctx.t["legal_entity"]
    for le_id, country in zip(le["legal_entity_id"], le["country"], strict=True):
        m, d = LOCAL_HOLIDAY[country]
        local = is_bd & (md_arr != m * 100 + d)
        frames.append(
            pl.DataFrame(
                {"d": days, "is_business_day": local, "legal_entity_id": le_id, "bd_no": np.cumsum(local)}
            )
        )
    ctx.t["calendar"] = pl.concat(frames)


def _fx(ctx: Ctx, rng: np.random.Generator) -> None:
    first, last = ctx.start - 400, ctx.A + 800
    n = last - first + 1
    ccys = sorted(set(ctx.t["legal_entity"]["functional_ccy"]) | {"USD"})
    rates = {}
    for c in ccys:
        if c == "USD":
            rates[c] = np.full(n, 10**8, dtype=np.int64)
            continue
        walk = np.exp(np.cumsum(rng.normal(0, 0.004, n)))
        rates[c] = np.round(FX_START[c] * walk * 10**8).astype(np.int64)
    ctx.fx = Fx(first, rates)
    days = np.arange(first, last + 1)
    ctx.t["fx_rate"] = pl.concat(
        [pl.DataFrame({"rate_date": days, "from_ccy": c, "to_ccy": "USD", "rate": rates[c]}) for c in ccys]
    ).with_columns(
        source_system=pl.lit("reference"),
        source_id=pl.concat_str(["from_ccy", "to_ccy", "rate_date"], separator=":"),
    )


def _clients(ctx: Ctx, rng: np.random.Generator) -> None:
    n = max(20, int(100 * (ctx.people / 200) ** 0.75))
    le = ctx.t["legal_entity"]
    le_i = rng.choice(le.height, n, p=le["_weight"].to_numpy())
    countries = le["country"].to_numpy()[le_i]
    cross = rng.random(n) < 0.10
    all_c = np.array(sorted(set(le["country"]) | {"US", "GB", "DE"}))
    countries = np.where(cross, all_c[rng.integers(0, len(all_c), n)], countries)
    region = {"US": "Americas", "CA": "Americas"}
    ctx.t["client"] = pl.DataFrame(
        {
            "client_id": ids.sf_ids("account", n),
            "crm_account_id": ids.sf_ids("account", n),
            "erp_customer_id": ids.ns_ids("customer", n),
            "name": [f"Client {i:05d} Holdings" for i in range(n)],
            "country": countries,
            "region": [region.get(c, "APAC" if c in ("AU", "IN", "SG", "JP") else "EMEA") for c in countries],
            "tax_jurisdiction": countries,
            "tax_id": [f"{c}TX{7000000 + i * 13}" for i, c in enumerate(countries)],
            "tax_exempt": rng.random(n) < 0.03,
            "bill_to_country": countries,
            "payment_terms_days": rng.choice([30, 45, 60], n, p=[0.6, 0.25, 0.15]).astype(np.int32),
            "po_required": rng.random(n) < 0.25,
            "_le": le["legal_entity_id"].to_numpy()[le_i],
            "_weight": rng.lognormal(0, 1.0, n),
            "_sloppy": rng.lognormal(0, 0.8, n),
        }
    ).with_columns(source_system=pl.lit("salesforce"), source_id=pl.col("client_id"))


def _resources(ctx: Ctx, rng: np.random.Generator) -> None:
    n = ctx.people
    le = ctx.t["legal_entity"]
    le_i = rng.choice(le.height, n, p=le["_weight"].to_numpy())
    billable = rng.random(n) < ctx.sizing["billable_share"]
    role_i = rng.choice(len(ROLES), n, p=ROLE_MIX)
    role = np.where(billable, np.array(ROLES)[role_i], "Operations")
    ccy = le["functional_ccy"].to_numpy()[le_i]
    std = np.array(ROLE_RATE_USD)[role_i] * COST_SHARE
    fx0 = np.array([FX_START[c] for c in ccy])
    cost = np.where(billable, np.round(std / fx0) * 100, np.round(60 / fx0) * 100).astype(np.int64)
    ctx.t["resource"] = pl.DataFrame(
        {
            "resource_id": ids.ns_ids("employee", n),
            "name": [f"Employee {i:06d}" for i in range(n)],
            "legal_entity_id": le["legal_entity_id"].to_numpy()[le_i],
            "role": role,
            "practice": np.array(PRACTICES)[rng.integers(0, len(PRACTICES), n)],
            "region": le["_region"].to_numpy()[le_i],
            "cost_rate": cost,
            "_billable": billable,
            "_ccy": ccy,
            "_sloppy": rng.lognormal(0, 0.8, n),
        }
    ).with_columns(source_system=pl.lit("netsuite"), source_id=pl.col("resource_id"))


def _reference(ctx: Ctx) -> None:
    le = ctx.t["legal_entity"]
    big, small = date(2000, 1, 1), date(9999, 12, 31)
    d0, d1 = (big - date(1970, 1, 1)).days, (small - date(1970, 1, 1)).days
    vat = dict(zip(le["country"], le["_vat"], strict=False))
    buyers = sorted(set(ctx.t["client"]["bill_to_country"]))
    rows = [(s, b, vat[s] if s == b else 0.0, s != b) for s in sorted(vat) for b in buyers]
    ctx.t["tax_matrix"] = pl.DataFrame(
        rows, schema=["seller_country", "buyer_country", "expected_rate", "reverse_charge"], orient="row"
    ).with_columns(
        service_category=pl.lit("professional_services"),
        buyer_is_business=pl.lit(True),
        valid_from=pl.lit(d0),
        valid_to=pl.lit(d1),
        source_system=pl.lit("reference"),
        source_id=pl.concat_str(["seller_country", "buyer_country"], separator="-"),
    )
    pol = [("TM", "over_time", m) for m in ("right_to_invoice", "input_hours", "input_cost")]
    pol += [("TM_CAP", "over_time", m) for m in ("input_hours", "input_cost")]
    pol += [("FF", "over_time", m) for m in ("input_cost", "input_hours", "output_units")]
    pol += [("FF", "point_in_time", "point_in_time")]
    pol += [("MILESTONE", "over_time", m) for m in ("output_milestones", "input_cost", "input_hours")]
    pol += [
        ("RETAINER", "stand_ready", "ratable"),
        ("RETAINER", "prepayment", "right_to_invoice"),
        ("RETAINER", "prepayment", "input_hours"),
    ]
    ctx.t["rev_policy_matrix"] = pl.DataFrame(
        pol, schema=["billing_type", "over_time_criteria", "method"], orient="row"
    ).with_columns(
        source_system=pl.lit("reference"),
        source_id=pl.concat_str(["billing_type", "over_time_criteria", "method"], separator=":"),
    )
    epr = []
    for p in EXPENSE_POLICIES:
        for c in EXPENSE_CATEGORIES:
            allowed = not (p == "EXP-GOV" and c == "airfare") and not (p == "EXP-LEAN" and c == "meals")
            epr.append((p, c, allowed, 5_000_00, 0.10))
    ctx.t["expense_policy_rule"] = pl.DataFrame(
        epr, schema=["policy_id", "category", "allowed", "cap", "max_markup_pct"], orient="row"
    ).with_columns(
        source_system=pl.lit("reference"), source_id=pl.concat_str(["policy_id", "category"], separator=":")
    )
    ctx.t["approval_matrix"] = pl.DataFrame(
        {"role": list(APPROVAL_ROLES), "threshold": list(APPROVAL_ROLES.values())}
    ).with_columns(source_system=pl.lit("reference"), source_id=pl.col("role"))
    lids = le["legal_entity_id"].to_list()
    ic = [(a, b) for a in lids for b in lids if a != b]
    ctx.t["intercompany_agreement"] = pl.DataFrame(
        ic,
        schema=["supplier_le", "buyer_le"],
        orient="row",
    ).with_columns(
        valid_from=pl.lit(ctx.start - 400),
        valid_to=pl.lit(d1),
        source_system=pl.lit("reference"),
        source_id=pl.concat_str(["supplier_le", "buyer_le"], separator=">"),
    )
    months = np.unique(month_start(np.arange(ctx.start, ctx.A + 1)))
    lock = (month_end(months) + 10) * DAY + 18 * 3600
    keep = lock < ctx.as_of_ts
    ctx.t["period_lock"] = pl.DataFrame({"period": months[keep], "lock_ts": lock[keep]}).with_columns(
        source_system=pl.lit("netsuite"), source_id=pl.col("period").cast(pl.String)
    )
