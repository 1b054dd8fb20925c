"""The build context threaded through the generator modules: sizes, rng, calendar, fx and working tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from .calc import DAY, Calendar, Fx, dnum
from .frames import only, stack
from .params import HISTORY_DAYS, NET_HOURS, SIZING, UTILIZATION

# Working tables hold dates as day numbers (Int64), timestamps as epoch seconds (Int64), money as integer
# cents (hours as hundredths, fx as 1e-8 units); schema.conform() casts to the canonical types at the end.


@dataclass
class Ctx:
    tier: str
    seed: int
    people: int
    as_of: date
    defect_scale: float
    rng: np.random.Generator
    t: dict[str, pl.DataFrame] = field(default_factory=dict)
    cal: Calendar | None = None
    fx: Fx | None = None
    notes: dict = field(default_factory=dict)

    @property
    def A(self) -> int:
        return dnum(self.as_of)

    @property
    def start(self) -> int:
        return self.A - HISTORY_DAYS + 1

    @property
    def as_of_ts(self) -> int:
        """End of the as_of day (exclusive), epoch seconds: every event dated <= as_of happened before it."""
        return (self.A + 1) * DAY

    @property
    def sizing(self) -> dict:
        s = dict(SIZING[self.tier])
        fte = self.people * s["billable_share"]
        s["billable_fte"] = fte
        s["revenue"] = fte * s["rev_per_fte"]
        s["billable_hours"] = fte * NET_HOURS * UTILIZATION
        s["sows_per_year"] = s["revenue"] / s["avg_sow_value"]
        return s

    def child_rng(self, name: str) -> np.random.Generator:
        """An independent deterministic stream per module, so adding draws in one does not shift another."""
        key = [self.seed] + [ord(c) for c in name]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))

    def filter_table(self, name: str, keep: pl.Series | pl.Expr) -> None:
        """t[name].filter(keep), column by column, so the old and the new copy of a big table never coexist whole.

        The caller must hold no other reference to the table, or nothing is freed.
        """
        df = self.t.pop(name)
        mask = df.select(keep).to_series() if isinstance(keep, pl.Expr) else keep
        parts = []
        for c in df.columns:
            parts.append(only(df, c).filter(mask).rechunk())
            df = df.drop(c)
        self.t[name] = pl.concat(parts, how="horizontal")

    def append_rows(self, name: str, new: pl.DataFrame, how: str = "vertical_relaxed") -> None:
        """pl.concat([t[name], new], how=how), built column by column, each column in one chunk (see stack)."""
        self.t[name] = stack([self.t.pop(name), new], how=how)
