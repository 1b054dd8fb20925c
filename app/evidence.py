"""A finding's evidence in words: expected vs actual with units and currency, then the money and the FX used.

Rules name their evidence columns freely; the pairs below are the comparisons they share by name (a rule that
emits both columns of a pair gets the sentence). Amounts are in the rule's `currency` column when it has one,
in the reporting currency for `*_rc` columns, else in the currency of the finding's document (invoice, SOW or
project). `amount` / `fx_rate` / `fx_date`, when a rule emits them, say how its reporting-currency figure was
converted. What cannot be said for sure is left out rather than guessed; every field is listed below it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from closedloop.access import MASKED

# (actual column, expected column, actual's label, expected's label, unit)
PAIRS = (
    ("billed_rate", "contract_rate", "billed", "contract", "rate"),
    ("billed", "expected", "billed", "expected", "money"),
    ("tax_rate", "expected_rate", "tax rate", "expected", "share"),
    ("sched_total", "eff_value", "billing schedule", "contract value", "money"),
    ("sched_amount", "clm_amount", "billing schedule", "contract milestone", "money"),
    ("opp_rc", "sow_rc", "opportunity", "SOW", "money_rc"),
    ("inv_terms", "contract_terms", "invoice terms", "contract terms", "days"),
    ("billed_fees", "eff_cap_amount", "billed fees", "contract cap", "money"),
    ("invoiced", "scheduled", "invoiced", "scheduled", "money"),
    ("po_number", "contract_po", "PO on the invoice", "contract PO", "text"),
    ("spent", "cap_amount", "spent", "cap", "money"),
    ("crm_status", "erp_status", "CRM status", "ERP status", "text"),
    ("hours", "budget_hours", "hours worked", "budget", "hours"),
    ("transaction_price", "eff_value", "revenue price", "contract value", "money"),
    ("budget_amount", "eff_value", "project budget", "contract value", "money"),
    ("project_currency", "sow_currency", "project currency", "SOW currency", "text"),
    ("booked_le", "contracting_le", "booked to entity", "contracting entity", "text"),
    ("bill_cum", "rev_cum", "billed to date", "revenue to date", "money"),
)
QUANTITY = ("quantity", "hours")  # shown beside a rate pair: the hours the rate applied to
# the amount in the document's currency that the reporting-currency figure converts, with what it means
DELTAS = (("under_billed_ccy", "under-billed"), ("amount", "at stake"))
MONEY_FIELDS = {
    "amount", "value", "eff_value", "billed", "expected", "scheduled", "invoiced", "spent", "billed_fees",
    "sched_total", "clm_amount", "sched_amount", "rev_cum", "bill_cum", "contract_asset", "open_amount",
    "value_delta", "budget_amount", "transaction_price", "cap_amount", "eff_cap_amount", "diff", "expense_amount",
    "amount_net", "expense_cap",
}  # fmt: skip
RATE_FIELDS = {"billed_rate", "contract_rate", "unit_price", "bill_rate"}
SHARE_FIELDS = {"tax_rate", "expected_rate", "p_leak", "consumption", "overrun_ratio", "markup_pct"}
DAY_FIELDS = {"age_days", "days_past_due", "oldest_age_days", "inv_terms", "contract_terms"}
HOUR_FIELDS = {"hours", "billable_hours", "nonbill_hours", "budget_hours", "hours_before_signature"}
FX_FIELDS = {"fx_rate", "fx_date"}


@dataclass
class Evidence:
    """What the panel shows for one finding."""

    sentence: str | None = None  # expected vs actual, then the money: the line a controller reads first
    fields: list[tuple[str, str]] = field(default_factory=list)  # every evidence column, with its unit


def parse(details: Any) -> dict[str, Any]:
    """The finding's evidence columns (results.finding.details) as a dict; anything else kept as text."""
    if isinstance(details, dict):
        return details
    try:
        doc = json.loads(details) if isinstance(details, str) else (details or {})
    except json.JSONDecodeError:
        return {"details": details}
    return doc if isinstance(doc, dict) else {"details": doc}


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def amount(value: Any, ccy: str | None) -> str:
    """1,234.50 GBP: two decimals, the currency code after (the way it reads on an invoice)."""
    d = _dec(value)
    if d is None:
        return str(value)
    text = f"{d.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    return f"{text} {ccy}" if ccy else text


def reporting(value: Any, ccy: str) -> str:
    """$1,234.50 for USD, else 1,234.50 EUR (a masked value stays masked: never a dash that reads as missing)."""
    if value == MASKED:
        return MASKED
    d = _dec(value)
    if d is None:
        return "—"
    text = f"{abs(d).quantize(Decimal('0.01'), ROUND_HALF_UP):,}"
    sign = "-" if d < 0 else ""
    return f"{sign}${text}" if ccy == "USD" else f"{sign}{text} {ccy}"


def _value(name: str, value: Any, ccy: str | None, rc: str) -> str:
    """One evidence value with its unit, by what its column name says it is."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    d = _dec(value)
    if d is None:
        return str(value)
    if name.endswith("_rc"):
        return reporting(d, rc)
    if name.endswith("_ccy") or name in MONEY_FIELDS:
        return amount(d, ccy)
    if name in RATE_FIELDS:
        return f"{amount(d, ccy)}/h"
    if name in SHARE_FIELDS:
        return f"{(d * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"
    if name in DAY_FIELDS:
        return f"{d.normalize():f} days"
    if name.endswith("_bd"):
        return f"{d.normalize():f} business days"
    if name in HOUR_FIELDS or name == "quantity":
        return f"{d.quantize(Decimal('0.1'), ROUND_HALF_UP)} h"
    return f"{d.normalize():f}" if d == d.to_integral() else str(value)


def _label(name: str) -> str:
    return name.replace("_rc", " (reporting)").replace("_ccy", "").replace("_", " ").strip()


def _fx(doc: dict[str, Any]) -> str:
    rate, date = doc.get("fx_rate"), doc.get("fx_date")
    if rate is None:
        return ""
    d = _dec(rate)
    return f" at {d.normalize():f}" + (f" on {date}" if date else "") if d is not None else ""


def describe(
    details: Any,
    *,
    impact_rc: Any,
    reporting_ccy: str = "USD",
    document_ccy: str | None = None,
) -> Evidence:
    """Expected vs actual with units, then 'amount in its currency = reporting amount at rate on date'."""
    doc = parse(details)
    ccy = doc.get("currency") if isinstance(doc.get("currency"), str) else document_ccy
    parts = []
    for actual, expected, a_label, e_label, unit in PAIRS:
        if actual not in doc or expected not in doc:
            continue
        if unit == "rate":
            parts.append(f"{a_label} {amount(doc[actual], ccy)}/h, {e_label} {amount(doc[expected], ccy)}/h")
            qty = next((doc[k] for k in QUANTITY if doc.get(k) is not None), None)
            if qty is not None:
                parts[-1] += f", {_value('quantity', qty, ccy, reporting_ccy)}"
        elif unit == "money_rc":
            parts.append(
                f"{a_label} {reporting(doc[actual], reporting_ccy)}, {e_label} {reporting(doc[expected], reporting_ccy)}"
            )
        else:
            key = {"money": "amount", "days": "age_days", "hours": "hours", "share": "tax_rate"}.get(unit, "")
            parts.append(
                f"{a_label} {_value(key, doc[actual], ccy, reporting_ccy)}, "
                f"{e_label} {_value(key, doc[expected], ccy, reporting_ccy)}"
            )
    money = ""
    delta = next(((doc[k], what) for k, what in DELTAS if _dec(doc.get(k)) is not None), None)
    at_stake = reporting(impact_rc, reporting_ccy) if _dec(impact_rc) is not None else None
    if delta is not None and ccy and ccy != reporting_ccy and at_stake:
        money = f"{amount(abs(_dec(delta[0]) or 0), ccy)} {delta[1]} = {at_stake}{_fx(doc)}"
    elif delta is not None and ccy == reporting_ccy:
        money = f"{amount(abs(_dec(delta[0]) or 0), ccy)} {delta[1]} (no conversion)"
    elif at_stake and _fx(doc):
        money = f"{at_stake}{_fx(doc)}"
    sentence = "; ".join(parts)
    if money:
        sentence = f"{sentence} → {money}" if sentence else money
    fields = [(_label(k), _value(k, v, ccy, reporting_ccy)) for k, v in doc.items() if k not in FX_FIELDS]
    if _fx(doc):
        fields.append(
            ("FX used", f"{doc.get('fx_rate')} {ccy or ''}→{reporting_ccy} on {doc.get('fx_date') or '—'}")
        )
    return Evidence(sentence or None, fields)
