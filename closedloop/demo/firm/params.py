"""Tier sizing (catalog §C), the check parameters the defects are injected against and defect rates (§D.2)."""

from __future__ import annotations

from datetime import date

from checks.params import defaults as declared_defaults

TIER_PEOPLE = {"s": 200, "m": 5_000, "l": 30_000}
REPORTING_CCY = "USD"
HISTORY_DAYS = 730  # two years of history ending at as_of

# §C.3 per-tier defaults; tier l uses the mid-tier ratios scaled by headcount (brief: 30k people).
SIZING = {
    "s": dict(billable_share=0.78, rev_per_fte=200_000, avg_sow_value=120_000, avg_duration_m=5.0),
    "m": dict(billable_share=0.78, rev_per_fte=200_000, avg_sow_value=200_000, avg_duration_m=6.0),
    "l": dict(billable_share=0.78, rev_per_fte=200_000, avg_sow_value=200_000, avg_duration_m=6.0),
}
NET_HOURS, UTILIZATION = 1_800, 0.70
ROWS_PER_BILLABLE_PERSON_DAY = 2.05  # ≈ 1.8 rows per person-day over all headcount (§C.3)
WIN_RATE = 0.45
SOW_MIX = {"TM": 0.45, "TM_CAP": 0.15, "FF": 0.20, "MILESTONE": 0.12, "RETAINER": 0.08}

# (country, functional currency, VAT rate for domestic B2B services, firm-wide region)
ENTITIES = [
    ("US", "USD", 0.0, "Americas"),
    ("GB", "GBP", 0.20, "EMEA"),
    ("DE", "EUR", 0.19, "EMEA"),
    ("CA", "CAD", 0.05, "Americas"),
    ("AU", "AUD", 0.10, "APAC"),
    ("IN", "INR", 0.18, "APAC"),
    ("FR", "EUR", 0.20, "EMEA"),
    ("NL", "EUR", 0.21, "EMEA"),
    ("US", "USD", 0.0, "Americas"),
    ("GB", "GBP", 0.20, "EMEA"),
    ("US", "USD", 0.0, "Americas"),
    ("IN", "INR", 0.18, "APAC"),
    ("SG", "SGD", 0.09, "APAC"),
    ("JP", "JPY", 0.10, "APAC"),
    ("CH", "CHF", 0.081, "EMEA"),
    ("SE", "SEK", 0.25, "EMEA"),
]
FX_START = {
    "USD": 1.0,
    "GBP": 1.27,
    "EUR": 1.08,
    "CAD": 0.74,
    "AUD": 0.66,
    "INR": 0.012,
    "SGD": 0.74,
    "JPY": 0.0067,
    "CHF": 1.12,
    "SEK": 0.095,
}


def n_entities(people: int) -> int:
    """s: 2 entities / 2 currencies; m: 12 / 6; l: 16 / 10."""
    return 2 if people < 1_000 else 12 if people < 15_000 else 16


ROLES = ["Partner", "Director", "Manager", "Senior Consultant", "Consultant", "Analyst"]
ROLE_MIX = [0.04, 0.08, 0.15, 0.25, 0.28, 0.20]
ROLE_RATE_USD = [450, 350, 260, 190, 150, 110]  # standard bill rates
COST_SHARE = 0.45  # cost rate = 45 % of standard bill rate
PRACTICES = ["Strategy", "Technology", "Data & AI", "Operations", "Finance Transformation"]
EXPENSE_CATEGORIES = ["airfare", "lodging", "meals", "ground", "mileage"]
EXPENSE_POLICIES = ["EXP-STD", "EXP-LEAN", "EXP-GOV"]
HOLIDAYS_MD = [(1, 1), (12, 25), (12, 26)]  # firm-wide; entities add one local day
APPROVAL_ROLES = {"Manager": 5_000_00, "Director": 25_000_00, "Partner": 100_000_00}  # cents

# The check and KPI parameters the generator injects defects against: the rule and KPI headers' defaults
# (checks/params.py; each parameter is declared once, in its SQL file's header), plus the demo's currency.
# Day counts are calendar days unless *_bd (business days from canon.calendar firm-wide rows).
CHECK_PARAMS = dict(reporting_ccy=REPORTING_CCY, **declared_defaults())
# p_leak by age in days (§0.5): (upper bound inclusive, probability)
P_LEAK = [(30, 0.02), (60, 0.05), (90, 0.15), (180, 0.30), (365, 0.50), (10**9, 0.80)]

# §D.2 "typical" per-eligible-entity rates used for injection.
DEFECT_RATES = {
    "Q2C-001": 0.03,
    "Q2C-002": 0.01,
    "Q2C-003": 0.08,
    "Q2C-004": 0.01,
    "Q2C-005": 0.05,
    "Q2C-010": 0.03,
    "Q2C-011": 0.01,
    "Q2C-012": 0.02,
    "Q2C-013": 0.005,
    "Q2C-020": 0.03,
    "Q2C-021": 0.03,
    "Q2C-022": 0.02,
    "Q2C-023": 0.01,
    "Q2C-024": 0.05,
    "Q2C-030": 0.15,
    "Q2C-031": 0.02,
    "Q2C-032": 0.015,
    "Q2C-032b": 0.12,
    "Q2C-033": 0.02,
    "Q2C-034": 0.02,
    "Q2C-035": 0.07,
    "Q2C-036": 0.015,
    "Q2C-037": 0.008,
    "Q2C-038": 0.001,
    "Q2C-050": 0.015,
    "Q2C-051": 0.02,
    "Q2C-052": 0.005,
    "Q2C-053": 0.02,
    "Q2C-055": 0.04,
    "Q2C-056": 0.002,
    "Q2C-060": 0.15,
    "Q2C-061": 0.12,
    "Q2C-062": 0.08,
    "Q2C-063": 0.25,
    "Q2C-064": 0.20,
    "Q2C-070": 0.015,
    "Q2C-071": 0.003,
    "Q2C-072": 0.02,
    "Q2C-073": 0.03,
    "Q2C-074": 0.20,
    "Q2C-075": 0.10,
    "Q2C-076": 0.005,
}
DEFAULT_AS_OF = date(2026, 10, 31)
