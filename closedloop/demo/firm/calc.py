"""Shared arithmetic: day numbers, business days, FX to the reporting currency, p_leak — all exact."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import polars as pl

from .params import P_LEAK

EPOCH = date(1970, 1, 1)
DAY = 86_400


def dnum(d: date) -> int:
    """Date -> days since 1970-01-01 (the internal date representation)."""
    return (d - EPOCH).days


def month_start(days: np.ndarray) -> np.ndarray:
    """First day of each day's month, as day numbers."""
    m = days.astype("datetime64[D]").astype("datetime64[M]")
    return m.astype("datetime64[D]").astype(np.int64)


def month_end(days: np.ndarray) -> np.ndarray:
    """Last day of each day's month, as day numbers."""
    m = days.astype("datetime64[D]").astype("datetime64[M]") + 1
    return m.astype("datetime64[D]").astype(np.int64) - 1


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 for each day number."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


@dataclass
class Calendar:
    """Firm-wide business-day calendar (canon.calendar rows with legal_entity_id NULL)."""

    first: int
    is_bd: np.ndarray
    bd_no: np.ndarray = field(init=False)
    bd_days: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.bd_no = np.cumsum(self.is_bd).astype(np.int64)
        self.bd_days = np.flatnonzero(self.is_bd).astype(np.int64) + self.first

    def bdn(self, days: np.ndarray) -> np.ndarray:
        """Running business-day number of each day (count of business days up to and including it)."""
        return self.bd_no[np.asarray(days, dtype=np.int64) - self.first]

    def bd_diff(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Business days strictly after a up to and including b (catalog bd_diff)."""
        return self.bdn(b) - self.bdn(a)

    def add_bd(self, days: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The business day n business days after day (n >= 1), or the day itself rolled forward if n == 0."""
        idx = self.bdn(days) + np.asarray(n, dtype=np.int64)
        idx = np.clip(idx, 1, len(self.bd_days))
        return self.bd_days[idx - 1]


class Fx:
    """Daily rates to the reporting currency, scaled 1e8 (canon.fx_rate DECIMAL(18,8))."""

    def __init__(self, first: int, rates: dict[str, np.ndarray]) -> None:
        self.first = first
        self.rates = rates
        self.ccys = sorted(rates)
        self.table = np.stack([rates[c] for c in self.ccys])

    def rate_e8(self, ccy: np.ndarray | list, days: np.ndarray) -> np.ndarray:
        """Latest rate on or before each day (daily rows exist, so it is the day's own rate)."""
        code = {c: i for i, c in enumerate(self.ccys)}
        ci = (
            pl.Series(list(ccy) if not isinstance(ccy, pl.Series) else ccy, dtype=pl.String)
            .replace_strict(code, return_dtype=pl.Int64)
            .to_numpy()
            if len(ccy)
            else np.zeros(0, np.int64)
        )
        di = np.clip(np.asarray(days, dtype=np.int64) - self.first, 0, self.table.shape[1] - 1)
        return self.table[ci, di]

    def rc_units(
        self, amount: np.ndarray, scale: int, ccy: np.ndarray | list, days: np.ndarray
    ) -> np.ndarray:
        """rc() of exact amounts given in 10**-scale units, as int64 cents (half away from zero); |amount×rate| < 9e18."""
        a = np.asarray(amount, dtype=np.int64) * self.rate_e8(ccy, days)
        den = 10 ** (8 + scale - 2)
        q = (np.abs(a) + den // 2) // den
        return np.where(a < 0, -q, q)

    def rc_dec(self, amount: Decimal, ccy: str, day: int) -> Decimal:
        """rc() for one exact Decimal amount."""
        i = self.ccys.index(ccy)
        d = min(max(int(day) - self.first, 0), self.table.shape[1] - 1)
        rate = Decimal(int(self.table[i, d])) / Decimal(10**8)
        return q2(amount * rate)


def _div_round(num: int, den: int) -> int:
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def q2(x: Decimal) -> Decimal:
    """Round half away from zero to cents (DuckDB ROUND on DECIMAL)."""
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def cents_dec(c: int) -> Decimal:
    """Integer cents -> Decimal."""
    return Decimal(int(c)).scaleb(-2)


def p_leak(age_days: np.ndarray) -> np.ndarray:
    """Catalog §0.5 expected-leakage probability by age."""
    age = np.asarray(age_days)
    out = np.full(age.shape, P_LEAK[-1][1])
    for bound, p in reversed(P_LEAK):
        out = np.where(age <= bound, p, out)
    return out


def p_leak_dec(age: int) -> Decimal:
    """p_leak for one age as an exact Decimal."""
    for bound, p in P_LEAK:
        if age <= bound:
            return Decimal(str(p))
    return Decimal("0.8")


def dates(days: np.ndarray) -> pl.Series:
    """Day numbers -> pl.Date series."""
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def masked(values: np.ndarray, keep: np.ndarray, dtype: pl.DataType = pl.Int64) -> pl.Series:
    """values where keep, else null (numpy has no integer null)."""
    v = pl.Series(np.asarray(values)).cast(dtype)
    return (
        pl.DataFrame({"v": v, "k": np.asarray(keep, dtype=bool)}).select(pl.when("k").then("v")).to_series()
    )
