"""The time-entry checks of the ten in pandas: Q2C-023, 032, 033, 034, 037, 064.

Each check is a `prep_*` (the analyst's merges and groupbys down to one frame of candidate rows, shared
with the GX baseline) and a `pandas_*` (the failing condition as a mask, the entity ids, the $ impact).
The SQL each mirrors is checks/rules/<domain>/q2c-<id>_*.sql; parameters are the rule files' defaults.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from closedloop.baselines.frames import (
    FAR,
    Data,
    dollars,
    fx_e8,
    member,
    product_cents,
    round_away,
    standard_rate,
    true,
    valid_status,
)

Outcome = tuple[set[str], Decimal]
TM = ("TM", "TM_CAP")
E12 = 10**10  # hours_c * rate_c * fx_e8 is in 1e-12 dollars: 1e10 of them make a cent


def _tm(d: Data) -> pd.DataFrame:
    return d.project[d.project.billing_type.isin(TM)]


# Q2C-023: billable time on TM projects with no SOW/MSA rate (none, or only STANDARD); per project and role.
def prep_023(d: Data) -> pd.DataFrame:
    te = d.h["te"]
    t = te[true(te.billable)].merge(_tm(d)[["project_id", "currency"]], on="project_id")
    t["rate_scope"] = t.tr_scope.fillna("NONE")
    return t


def pandas_023(d: Data) -> Outcome:
    t = prep_023(d)
    bad = t[~t.rate_scope.isin(["SOW", "MSA"])].copy()
    bad["pccy"] = bad.currency.fillna("")
    bad = bad.join(standard_rate(d, bad[["role", "work_date", "pccy"]]))
    value = product_cents(E12, bad.hours_c, bad.sr_rate_c, fx_e8(d, bad.sr_ccy, bad.work_date))
    return set(bad.project_id + ":" + bad.role.fillna("")), dollars(value)


# Q2C-032: approved, billable, un-invoiced time with a contract rate in closed months on TM projects. The amount
# at stake is the unbilled value; the expected loss (value x p_leak by age) is the rule's second figure, not compared.


def prep_032(d: Data) -> pd.DataFrame:
    te = d.h["te"]
    month = d.as_of.to_period("M").start_time
    t = te[
        te.tr_rate_c.notna() & true(te.billable) & (te.approval_status == "approved") & (te.work_date < month)
    ]
    return t.merge(_tm(d)[["project_id"]], on="project_id")


def pandas_032(d: Data) -> Outcome:
    t = prep_032(d)
    bad = t[t.invoice_line_id.isna()].copy()
    bad["value_c"] = product_cents(E12, bad.hours_c, bad.tr_rate_c, fx_e8(d, bad.tr_ccy, d.as_of))
    return set(bad.project_id), dollars(bad.value_c)  # sum(value_rc) per project, summed over projects


# Q2C-033: a posted time line billed off the contract rate by more than 0.5 % (same currency, not amended).
def prep_033(d: Data) -> pd.DataFrame:
    inv = d.invoice
    posted = inv[(inv.type == "invoice") & valid_status(inv.status, "draft", "cancelled")]
    il = d.invoice_line[d.invoice_line.line_type == "time"]
    m = il.merge(posted[["invoice_id", "currency", "invoice_date"]], on="invoice_id")
    te = d.h["te"][["time_entry_id", "project_id", "tr_card", "tr_ccy", "tr_rate_c"]]
    te = te[te.tr_rate_c.notna()].merge(d.project[["project_id"]], on="project_id")
    m = m.merge(te, left_on="source_id", right_on="time_entry_id")
    amended = d.amendment[d.amendment.status == "executed"].new_rate_card_id.dropna()
    m = m[(m.tr_ccy == m.currency) & ~m.tr_card.isin(amended)].copy()
    m["rate_dev"] = (m.unit_price_c - m.tr_rate_c).abs() / m.tr_rate_c  # the GX form; exact at 0.005
    return m


def pandas_033(d: Data) -> Outcome:
    m = prep_033(d)
    bad = m[(m.unit_price_c - m.tr_rate_c).abs() * 1000 > 5 * m.tr_rate_c]  # > 0.005 x rate, as DECIMAL
    fx = fx_e8(d, bad.currency, bad.invoice_date)
    impact = product_cents(E12, (bad.tr_rate_c - bad.unit_price_c).abs(), bad.quantity_c, fx)
    return set(bad.invoice_line_id), dollars(impact)


# Q2C-034: more than 4 h of non-billable time on a billable task of a TM project.
def prep_034(d: Data) -> pd.DataFrame:
    te = d.h["te"]
    t = te[te.billable.eq(False)].merge(d.task[true(d.task.billable)][["task_id"]], on="task_id")
    t = t.merge(_tm(d)[["project_id"]], on="project_id")
    t["nonbill_c"] = t.groupby("task_id").hours_c.transform("sum")
    t["nonbill_hours"] = t.nonbill_c / 100
    return t


def pandas_034(d: Data) -> Outcome:
    t = prep_034(d)
    bad = t[t.nonbill_c > 400]
    impact = product_cents(E12, bad.hours_c, bad.tr_rate_c, fx_e8(d, bad.tr_ccy, d.as_of))
    return set(bad.task_id), dollars(impact)


# Q2C-037: billable time outside the (amended) SOW window, or by a resource with no covering assignment.
def prep_037(d: Data) -> pd.DataFrame:
    te = d.h["te"]
    t = te[true(te.billable)].merge(d.project[["project_id", "sow_id"]], on="project_id")
    t = t.merge(d.h["se"][["sow_id", "start_date", "eff_end_date"]].dropna(subset=["sow_id"]), on="sow_id")
    a = d.assignment.dropna(subset=["project_id", "resource_id"])
    a = a.assign(end=a.end_date.fillna(FAR))
    c = t[["time_entry_id", "project_id", "resource_id", "work_date"]].merge(
        a, on=["project_id", "resource_id"]
    )
    covered = c[(c.work_date >= c.start_date) & (c.work_date <= c.end)].time_entry_id
    t["uses_assignments"] = t.project_id.isin(a.project_id)
    t["covered"] = member(t.time_entry_id, covered)
    return t


def pandas_037(d: Data) -> Outcome:
    t = prep_037(d)
    bad = t[(t.work_date > t.eff_end_date) | (t.work_date < t.start_date) | (t.uses_assignments & ~t.covered)]
    impact = product_cents(E12, bad.hours_c, bad.tr_rate_c, fx_e8(d, bad.tr_ccy, bad.work_date))
    return set(bad.time_entry_id), dollars(impact)


# Q2C-064: FF / MILESTONE / TM_CAP hours over budget x 1.1 with no recent or pending change order.
def prep_064(d: Data) -> pd.DataFrame:
    a = d.amendment
    recent = a[a.status.isin(["draft", "in_review"])
               | ((a.status == "executed") & ((d.as_of - a.signed_date).dt.days <= 60))]  # fmt: skip
    p = d.project
    p = p[p.billing_type.isin(["FF", "MILESTONE", "TM_CAP"]) & (p.budget_hours > 0)]
    p = p[~p.sow_id.isin(recent.sow_id.dropna())]
    t = d.h["te"][["project_id", "hours_c", "cost_rate_c", "tr_rate_c"]].merge(
        p[["project_id", "billing_type", "currency", "budget_hours"]], on="project_id"
    )
    t["hc"] = t.hours_c * t.cost_rate_c  # DECIMAL(_, 4) held as an integer of 1e-4
    t["hb"] = t.hours_c * t.tr_rate_c
    t["h_cost"] = t.hours_c.where(t.cost_rate_c.notna())
    t["h_bill"] = t.hours_c.where(t.tr_rate_c.notna())
    g = t.groupby(["project_id", "billing_type", "currency", "budget_hours"], dropna=False)
    o = g[["hours_c", "hc", "hb", "h_cost", "h_bill"]].sum(min_count=1).reset_index()
    o["hours"] = o.hours_c / 100  # sum(hours) as the DOUBLE it is cast to in the comparison
    o["overrun_limit"] = o.budget_hours * 1.1  # budget_hours DOUBLE * (1 + 0.1)
    return o


def pandas_064(d: Data) -> Outcome:
    o = prep_064(d)
    bad = o[o.hours > o.overrun_limit]
    with np.errstate(divide="ignore", invalid="ignore"):  # nullif(sum, 0): no rate, no impact
        avg = np.where(bad.billing_type == "TM_CAP", (bad.hb / 1e4) / (bad.h_bill / 100),
                       (bad.hc / 1e4) / (bad.h_cost / 100))  # fmt: skip
        x = round_away((bad.hours - bad.budget_hours) * avg * (fx_e8(d, bad.currency, d.as_of) / 1e8))
    x = x[np.isfinite(x)]  # a DOUBLE formula in SQL too, so cents from the DOUBLE
    return set(bad.project_id), dollars(np.round(x * 100))
