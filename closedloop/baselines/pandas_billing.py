"""The invoice and amendment checks of the ten in pandas: Q2C-038, 056, 061, 100 (see pandas_time.py)."""

from __future__ import annotations

import pandas as pd

from closedloop.baselines.frames import (
    FAR,
    Data,
    dollars,
    fx_e8,
    member,
    net_rate_c,
    product_cents,
    valid_status,
)
from closedloop.baselines.pandas_time import E12, Outcome

SOURCED = ("time", "expense", "milestone", "fixed", "retainer", "subcontract")
E10 = 10**8  # amount_c * fx_e8 is in 1e-10 dollars: 1e8 of them make a cent


def _posted(d: Data) -> pd.DataFrame:
    return d.invoice[valid_status(d.invoice.status, "draft", "cancelled")]


def _credited(d: Data) -> pd.Series:
    """Invoices a non-cancelled credit note points at (source_ref)."""
    i = d.invoice
    return i[(i.type == "credit_note") & i.status.notna() & (i.status != "cancelled")].source_ref.dropna()


# Q2C-038: one source item on more than one posted, uncredited invoice.
def prep_038(d: Data) -> pd.DataFrame:
    inv = _posted(d)
    inv = inv[(inv.type == "invoice") & ~inv.invoice_id.isin(_credited(d))]
    il = d.invoice_line
    il = il[il.line_type.isin(SOURCED) & il.source_id.notna()]
    return il.merge(inv[["invoice_id", "currency", "invoice_date"]], on="invoice_id")


def pandas_038(d: Data) -> Outcome:
    l = prep_038(d)  # noqa: E741
    n = l.groupby(["line_type", "source_id"]).invoice_id.transform("nunique")
    bad = l[n > 1].copy()
    bad["amount_rc"] = product_cents(E10, bad.amount_c, fx_e8(d, bad.currency, bad.invoice_date))
    g = bad.groupby(["line_type", "source_id"]).amount_rc
    impact = (g.sum(min_count=1) - g.max()).to_numpy()  # every occurrence but the largest
    return set(bad.line_type + ":" + bad.source_id), dollars(impact)


# Q2C-056: a posted invoice line whose source record does not exist, or an unapproved adjustment.
def prep_056(d: Data) -> pd.DataFrame:
    l = d.invoice_line.merge(_posted(d)[["invoice_id", "currency", "invoice_date"]], on="invoice_id")  # noqa: E741
    sources = {
        "time": d.time_entry.time_entry_id,
        "expense": d.expense.expense_id,
        "milestone": d.milestone.milestone_id,
        "fixed": d.billing_schedule.schedule_line_id,
        "retainer": d.billing_schedule.schedule_line_id,
        "subcontract": d.vendor_bill.vendor_bill_id,
    }
    l["source_found"] = False
    for line_type, ids in sources.items():
        of_type = l.line_type == line_type
        l.loc[of_type, "source_found"] = member(l.source_id[of_type], ids)
    return l


def pandas_056(d: Data) -> Outcome:
    l = prep_056(d)  # noqa: E741
    adjust = (l.line_type == "adjustment") & (l.reason_code.isna() | l.approved_by.isna())
    bad = l[(l.line_type.isin(SOURCED) & ~l.source_found) | adjust]
    impact = product_cents(E10, bad.amount_c.abs(), fx_e8(d, bad.currency, bad.invoice_date))
    return set(bad.invoice_line_id), dollars(impact)


# Q2C-061: an executed amendment not carried into the billing schedule, the billed rate, the cap or end date.
def amendments_061(d: Data) -> pd.DataFrame:
    """Executed, effective amendments with age in business days and 'latest of its kind' flags."""
    a = d.amendment
    am = a[(a.status == "executed") & (a.effective_date <= d.as_of)].copy()
    am["age_bd"] = d.h["as_of_bd"] - am.signed_date.map(d.h["bd"])
    am = am.sort_values("amendment_no", ascending=False, kind="stable")
    for flag, has in (("value", am.value_delta_c.fillna(0) != 0), ("cap", am.new_cap_amount.notna()),
                      ("end", am.new_end_date.notna())):  # fmt: skip
        am[f"latest_{flag}"] = has & (am.groupby([am.sow_id, has], dropna=False).cumcount() == 0)
    return am


def prep_061(d: Data) -> dict[str, pd.DataFrame]:
    am = amendments_061(d)
    se = d.h["se"].dropna(subset=["sow_id"])
    old = am[am.age_bd > 5]
    # (a) schedule: the latest value amendment of a fixed-fee-like SOW vs the schedule total in SOW currency
    bs = d.billing_schedule.dropna(subset=["sow_id", "currency"])
    sched = bs.groupby(["sow_id", "currency"]).amount_c.sum(min_count=1).rename("sched_c").reset_index()
    fixed = se[se.billing_type.isin(["FF", "MILESTONE", "RETAINER", "MANAGED_SERVICE"])]
    a = old[old.latest_value].merge(fixed[["sow_id", "currency", "eff_value_c"]], on="sow_id")
    a = a.merge(sched, on=["sow_id", "currency"])
    a["sched_dev_c"] = (a.eff_value_c - a.sched_c).abs()
    # (b) rate: time in the new card's role after the effective date, billed at another unit price
    rc = d.rate_card.dropna(subset=["rate_card_id", "role"])
    rc = rc.assign(new_c=net_rate_c(rc))
    b = am[["amendment_id", "sow_id", "effective_date", "new_rate_card_id"]].merge(
        rc[["rate_card_id", "role", "currency", "valid_to", "new_c"]], left_on="new_rate_card_id",
        right_on="rate_card_id")  # fmt: skip
    b = b.merge(d.project[["project_id", "sow_id"]].dropna(), on="sow_id")
    te = d.time_entry[["time_entry_id", "project_id", "role", "work_date"]]
    b = b.merge(te, on=["project_id", "role"])
    b = b[(b.work_date >= b.effective_date) & (b.work_date <= b.valid_to.fillna(FAR))]
    il = d.invoice_line[d.invoice_line.line_type == "time"]
    b = b.merge(il[["invoice_id", "source_id", "unit_price_c", "quantity_c"]], left_on="time_entry_id",
                right_on="source_id")  # fmt: skip
    inv = _posted(d)
    inv = inv[inv.type == "invoice"][["invoice_id", "currency", "invoice_date"]]
    b = b.merge(inv.rename(columns={"currency": "inv_ccy"}), on="invoice_id")
    b = b[b.inv_ccy == b.currency].copy()
    b["rate_dev_c"] = (b.unit_price_c - b.new_c).abs()
    # (c) cap or end date: the latest cap / end amendment not in the billing rule cap or the project end date
    c = old.merge(se[["sow_id", "eff_cap_c", "eff_end_date"]], on="sow_id")
    p = d.project[d.project.status.fillna("") != "cancelled"][["project_id", "sow_id", "end_date"]]
    c = c.merge(p.dropna(subset=["sow_id"]), on="sow_id")
    br = d.billing_rule.dropna(subset=["project_id"])[["project_id", "cap_c"]].rename(
        columns={"cap_c": "br_cap_c"}
    )
    cap = c[c.latest_cap].merge(br, on="project_id")  # br.project_id IS NOT NULL: an inner join
    end = c[c.latest_end]
    return {"schedule": a, "rate": b, "cap": cap, "end": end}


def pandas_061(d: Data) -> Outcome:
    f = prep_061(d)
    a = f["schedule"][f["schedule"].sched_dev_c > 1]
    b = f["rate"][f["rate"].rate_dev_c > 1]
    cap = f["cap"]
    cap = cap[cap.br_cap_c.isna() | ((cap.br_cap_c != cap.eff_cap_c) & cap.eff_cap_c.notna())]
    end = f["end"][f["end"].end_date < f["end"].eff_end_date]
    ids = set(a.amendment_id) | set(b.amendment_id) | set(cap.amendment_id) | set(end.amendment_id)
    impact_a = product_cents(E10, a.sched_dev_c, fx_e8(d, a.currency, a.signed_date))
    impact_b = product_cents(E12, b.rate_dev_c, b.quantity_c, fx_e8(d, b.inv_ccy, b.invoice_date))
    return ids, dollars(impact_a) + dollars(impact_b)


# Q2C-100: duplicate invoices, technical (one source record, several invoices) or business (same money,
# client, currency, within 3 days, same source_ref or correlation id, every sourced line also on the earlier).
def pandas_100(d: Data) -> Outcome:
    i = d.invoice
    t = i[i.status.notna() & (i.status != "cancelled") & i.source_id.notna()].sort_values("invoice_id")
    tech = t[t.groupby(["source_system", "source_id"], dropna=False).cumcount() > 0].invoice_id
    posted = _posted(d)
    posted = posted[posted.type == "invoice"]
    cols = [
        "invoice_id",
        "client_id",
        "currency",
        "amount_gross_c",
        "invoice_date",
        "source_ref",
        "correlation_id",
    ]
    x = posted[cols].dropna(subset=["client_id", "currency"])
    pairs = x.merge(x, on=["client_id", "currency"], suffixes=("_a", "_b"))
    pairs = pairs[(pairs.invoice_id_a > pairs.invoice_id_b)
                  & ((pairs.amount_gross_c_a - pairs.amount_gross_c_b).abs() < 1)
                  & ((pairs.invoice_date_a - pairs.invoice_date_b).dt.days.abs() <= 3)
                  & ((pairs.source_ref_a == pairs.source_ref_b) | (pairs.correlation_id_a == pairs.correlation_id_b))]  # fmt: skip
    pairs = pairs[["invoice_id_a", "invoice_id_b"]]
    lines = d.invoice_line[["invoice_id", "line_type", "source_id"]]
    la = pairs.merge(lines[lines.source_id.notna()], left_on="invoice_id_a", right_on="invoice_id")
    lb = lines.dropna().drop_duplicates().rename(columns={"invoice_id": "invoice_id_b"})
    la = la.merge(lb, on=["invoice_id_b", "line_type", "source_id"], how="left", indicator=True)
    missing = la[la._merge == "left_only"][["invoice_id_a", "invoice_id_b"]].drop_duplicates()
    pairs = pairs.merge(missing, how="left", indicator=True)
    biz = pairs[pairs._merge == "left_only"].invoice_id_a
    dup = set(tech) | set(biz)
    dup -= set(_credited(d))
    rows = i[i.invoice_id.isin(dup)]
    impact = product_cents(E10, rows.amount_gross_c, fx_e8(d, rows.currency, rows.invoice_date))
    return dup, dollars(impact)
