"""The analyst's exported tables as pandas DataFrames, and the helpers every baseline check shares.

Money is compared in integer cents (held exactly in float64) so a threshold like `> 0.01` means what the
DECIMAL(18,2) SQL means; $ impacts are computed with decimal.Decimal on the failing rows only. pandas
differs from SQL on NULLs in three places the code below is careful about: merge matches NaN keys to NaN
keys (drop them on the lookup side), `~isin(...)` is True for NaN (SQL NOT IN is NULL), and a negated
comparison with NaT is True (SQL is NULL): conditions are written positively.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from closedloop.baselines import COLUMNS

FAR = pd.Timestamp("9999-12-31")
MONEY = {
    "time_entry": ("hours", "cost_rate"),
    "invoice_line": ("quantity", "unit_price", "amount"),
    "invoice": ("amount_gross",),
    "sow": ("value", "cap_amount"),
    "amendment": ("value_delta", "new_cap_amount"),
    "billing_schedule": ("amount",),
    "billing_rule": ("cap",),
}  # DECIMAL(_, 2) columns, also held as <name>_c in cents


@dataclass
class Data:
    """One pass's frames plus run context; helpers are computed into `h` once per pass."""

    tables: dict[str, pd.DataFrame]
    as_of: pd.Timestamp
    ccy: str
    h: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        try:
            return self.__dict__["tables"][name]
        except KeyError:
            raise AttributeError(name) from None


def load(con: duckdb.DuckDBPyConnection, as_of: dt.date, ccy: str) -> Data:
    """Export the tables the ten checks read (only their columns) from DuckDB into pandas."""
    tables = {}
    for name, cols in COLUMNS.items():
        df = con.sql(f"SELECT {', '.join(cols)} FROM canon.{name}").df()
        for col in MONEY.get(name, ()):
            df[f"{col}_c"] = cents(df[col])
        tables[name] = df
    return Data(tables, pd.Timestamp(as_of), ccy)


def cents(s: pd.Series) -> pd.Series:
    """DECIMAL(_, 2) read as float -> exact integer cents (NaN stays NaN)."""
    return np.round(s.astype("float64") * 100)


def member(s: pd.Series, values: pd.Series) -> pd.Series:
    """s.isin(values) for big value sets: pandas 3.1 builds a str array's value set with a Python loop
    (seconds per million ids), which would charge pandas for a known slowness rather than for the work."""
    values = values.dropna().drop_duplicates()
    if not len(values) or not len(s):
        return pd.Series(False, index=s.index)
    arr = pa.array(s.astype("str"))
    vset = pa.array(values.astype("str"))
    vset = vset.combine_chunks() if isinstance(vset, pa.ChunkedArray) else vset
    return pd.Series(
        pc.is_in(arr, value_set=vset).fill_null(False).to_numpy(zero_copy_only=False), index=s.index
    )


def round_away(x: pd.Series | np.ndarray, digits: int = 2) -> Any:
    """DuckDB's round(DOUBLE, n): half away from zero on x * 10^n (numpy's round is half to even)."""
    m = 10.0**digits
    y = np.asarray(x, dtype="float64") * m
    return np.sign(y) * np.floor(np.abs(y) + 0.5) / m


def true(s: pd.Series) -> pd.Series:
    """SQL `WHERE col`: NULL is not true."""
    return s.eq(True).fillna(False).astype(bool)


def valid_status(s: pd.Series, *excluded: str) -> pd.Series:
    """SQL `status NOT IN (...)`: NULL is excluded too."""
    return s.notna() & ~s.isin(excluded)


def scaled_round(v: np.ndarray, scale: int) -> np.ndarray:
    """round(v / scale) half away from zero, in integers (v exact integers held in int64)."""
    return np.sign(v) * ((np.abs(v) + scale // 2) // scale)


def product_cents(scale: int, *factors: Any) -> np.ndarray:
    """round(a * b * ..., 2) of exact scaled integers, as DECIMAL arithmetic does it: float cents, NaN if any NULL.

    scale is the product's unit in cents, e.g. hours_c * rate_c * fx_e8 is in 1e-12 dollars: scale 10**10.
    """
    arrays = [np.asarray(f, dtype="float64") for f in factors]
    ok = np.logical_and.reduce([~np.isnan(a) for a in arrays])
    v = np.ones(int(ok.sum()), dtype="int64")
    for a in arrays:
        v = v * a[ok].astype("int64")
    out = np.full(len(arrays[0]), np.nan)
    out[ok] = scaled_round(v, scale)
    return out


def dollars(cents_values: Any) -> Decimal:
    """Sum of cents (NaN = NULL, ignored) as Decimal dollars."""
    a = np.asarray(cents_values, dtype="float64")
    return (Decimal(int(np.nansum(a))) / 100).quantize(Decimal("0.01"))


def fx_daily(d: Data) -> pd.Series:
    """chk.fx_daily: (currency, calendar day) -> rate to the reporting currency x 1e8 (exact integers)."""
    fx = d.fx_rate
    fx = fx[(fx.to_ccy == d.ccy) & fx.from_ccy.notna() & (fx.from_ccy != d.ccy) & fx.rate_date.notna()]
    days = pd.DataFrame({"d": np.sort(d.calendar.d.dropna().unique())})
    parts = [pd.DataFrame({"ccy": d.ccy, "d": days.d, "rate": 1.0})]
    for ccy, g in fx.sort_values("rate_date", kind="stable").groupby("from_ccy"):
        m = pd.merge_asof(days, g[["rate_date", "rate"]], left_on="d", right_on="rate_date")
        m.loc[m.d < g.rate_date.iloc[0], "rate"] = g.rate.iloc[0]  # the earliest rate covers earlier days
        parts.append(m.assign(ccy=ccy)[["ccy", "d", "rate"]].dropna())
    out = pd.concat(parts)
    return pd.Series(np.round(out.rate.to_numpy() * 1e8), index=pd.MultiIndex.from_frame(out[["ccy", "d"]]))


def fx_e8(d: Data, ccy: Any, when: Any) -> np.ndarray:
    """Look rates up in the fx_daily helper for aligned currency and date arrays (NaN where no row)."""
    ccy = np.asarray(ccy, dtype=object)
    when = pd.DatetimeIndex(np.broadcast_to(np.asarray(when, dtype="datetime64[us]"), ccy.shape))
    if not len(ccy):
        return np.array([], dtype="float64")
    idx = pd.MultiIndex.from_arrays([ccy, when])
    return d.h["fx"].reindex(idx).to_numpy(dtype="float64")


def sow_effective(d: Data) -> pd.DataFrame:
    """chk.sow_effective: SOW terms after executed amendments effective on or before as_of."""
    a = d.amendment
    am = a[(a.status == "executed") & (a.effective_date <= d.as_of) & a.sow_id.notna()]
    am = am.sort_values("amendment_no", ascending=False, kind="stable")
    tot = am.groupby("sow_id").value_delta_c.sum(min_count=1).rename("delta_c")
    ends = am[am.new_end_date.notna()].drop_duplicates("sow_id").set_index("sow_id").new_end_date
    caps = am[am.new_cap_amount.notna()].drop_duplicates("sow_id").set_index("sow_id").new_cap_amount_c
    se = d.sow.join(tot, on="sow_id").join(ends, on="sow_id").join(caps, on="sow_id")
    se["eff_value_c"] = se.value_c + se.delta_c.fillna(0)
    se["eff_end_date"] = se.new_end_date.fillna(se.end_date)
    se["eff_cap_c"] = se.new_cap_amount_c.fillna(se.cap_amount_c)
    return se


def net_rate_c(rc: pd.DataFrame) -> pd.Series:
    """round(bill_rate * (1 - coalesce(discount_pct, 0)), 2) in cents, in DOUBLE as the SQL computes it."""
    return np.round(round_away(rc.bill_rate * (1 - rc.discount_pct.fillna(0))) * 100)


def time_rate(d: Data) -> pd.DataFrame:
    """Per time entry the contract rate in force (best scope, then latest valid_from), as chk.rate_segment gives it.

    Columns tr_card, tr_scope, tr_ccy, tr_rate_c aligned to d.time_entry's rows (NaN where no rate).
    """
    s = d.sow[["sow_id", "contract_id", "currency"]].dropna(subset=["sow_id"])
    keys = pd.concat(
        [
            s.assign(scope="SOW", key=s.sow_id),
            s.assign(scope="MSA", key=s.contract_id),
            s.assign(scope="STANDARD", key=s.currency),
        ]
    )[["sow_id", "scope", "key"]].dropna(subset=["key"])
    rc = d.rate_card.copy()
    rc["key"] = np.where(
        rc.scope == "SOW", rc.sow_id, np.where(rc.scope == "MSA", rc.contract_id, rc.currency)
    )
    rc["rank"] = rc.scope.map({"SOW": 1, "MSA": 2}).fillna(3)
    rc["vt"] = rc.valid_to.fillna(FAR)
    rc["rate_c"] = net_rate_c(rc)
    rc = rc[rc.key.notna() & rc.role.notna() & rc.valid_from.notna() & (rc.valid_from <= rc.vt)]
    cand = keys.merge(rc.drop(columns=["sow_id"]), on=["scope", "key"])
    cand = cand.sort_values(
        ["rank", "valid_from", "rate_card_id"], ascending=[True, False, True], kind="stable"
    )
    cand = cand.reset_index(drop=True)
    cand["prio"] = np.arange(len(cand))
    # one integer key per (sow_id, role) so the big merge carries numbers, not strings
    k = cand[["sow_id", "role"]].drop_duplicates().reset_index(drop=True)
    k["k"] = np.arange(len(k))
    cand = cand.merge(k, on=["sow_id", "role"])
    te = d.time_entry[["project_id", "role", "work_date"]].reset_index(drop=True)
    te["ti"] = np.arange(len(te))
    te = te.merge(d.project[["project_id", "sow_id"]].dropna(), on="project_id").merge(
        k, on=["sow_id", "role"]
    )
    m = te[["ti", "k", "work_date"]].merge(cand[["k", "prio", "valid_from", "vt"]], on="k")
    m = m[(m.work_date >= m.valid_from) & (m.work_date <= m.vt)]
    best = m.sort_values("prio", kind="stable").drop_duplicates("ti")
    out = pd.DataFrame(index=pd.RangeIndex(len(d.time_entry)))
    hit = cand.loc[best.prio.to_numpy()]
    for src, dst in (
        ("rate_card_id", "tr_card"),
        ("scope", "tr_scope"),
        ("currency", "tr_ccy"),
        ("rate_c", "tr_rate_c"),
    ):
        out[dst] = pd.Series(hit[src].to_numpy(), index=best.ti.to_numpy()).reindex(out.index)
    return out


def standard_rate(d: Data, te: pd.DataFrame) -> pd.DataFrame:
    """chk.standard_rate for a few entries (te: role, work_date, pccy): STANDARD card, project currency first."""
    rc = d.rate_card[(d.rate_card.scope == "STANDARD") & d.rate_card.role.notna()].copy()
    rc["vt"] = rc.valid_to.fillna(FAR)
    rc["sr_rate_c"] = net_rate_c(rc)
    m = te.reset_index().merge(rc, on="role")
    m = m[(m.work_date >= m.valid_from) & (m.work_date <= m.vt)].copy()
    m["other"] = (m.currency != m.pccy).astype(int)
    m = m.sort_values(
        ["other", "valid_from", "rate_card_id", "currency"], ascending=[True, False, True, True]
    )
    best = m.drop_duplicates("index").set_index("index")
    return best[["currency", "sr_rate_c"]].rename(columns={"currency": "sr_ccy"}).reindex(te.index)


def business_days(d: Data) -> tuple[pd.Series, Any]:
    """chk.bd (firm-wide business-day number per date) and chk.ctx's as_of_bd."""
    c = d.calendar[d.calendar.legal_entity_id.isna()]
    bd = c.groupby("d").bd_no.max()
    return bd, bd.get(d.as_of)


def helpers(d: Data) -> None:
    """The helpers the engine builds as chk.* views, computed once per pass like create_views does."""
    d.h["fx"] = fx_daily(d)
    d.h["se"] = sow_effective(d)
    d.h["tr"] = time_rate(d)
    d.h["bd"], d.h["as_of_bd"] = business_days(d)
    te = d.time_entry.join(d.h["tr"])
    d.h["te"] = te  # time entries with their contract rate, reused by six checks
