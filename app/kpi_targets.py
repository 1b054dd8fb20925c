"""KPI targets (q2c-catalog §B proposed targets) and the findings each KPI is built from, as data."""

from __future__ import annotations

# kpi_id -> the measure its tile shows (checks/kpis/*.sql write several per KPI).
HEADLINE: dict[str, str] = {
    "K01": "contract_to_project_median",
    "K02": "invoices_aligned_count",
    "K03": "amendment_propagation_median",
    "K04": "billing_exception_rate_count",
    "K05": "ar_visibility_coverage",
    "K06": "dso",
    "K07": "wip_days",
    "K08": "revenue_leakage_pct",
    "K11": "billing_cycle_median_time",
    "K13": "quote_to_cash_median",
}

# What a tile is called: the KPI, not the measure's column name.
LABELS: dict[str, str] = {
    "K01": "Signature → project (median)",
    "K02": "Invoices aligned to contract",
    "K03": "Amendment propagation (median)",
    "K04": "Billing exception rate",
    "K05": "Open AR visible in CRM",
    "K06": "DSO",
    "K07": "Unbilled WIP days",
    "K08": "Leakage as a share of revenue",
    "K11": "Time to invoice (T&M, median)",
    "K13": "Quote to cash (median)",
}

# SLA attainment bars: (kpi_id, measure) -> (label, target share).
SLA_MEASURES: dict[tuple[str, str], tuple[str, float]] = {
    ("K01", "contract_to_project_within_sla"): ("Executed SOW → project within the SLA", 0.95),
    ("K03", "amendment_propagation_within_sla"): ("Amendments propagated within the SLA", 0.95),
    ("K05", "ar_visibility_coverage"): ("Open AR visible in the CRM (invoice sync)", 0.99),
}

# kpi_id -> (comparison, target); a value in % may be a share (0.98) or a percent (98): compared alike.
TARGETS: dict[str, tuple[str, float]] = {
    "K01": ("<=", 2.0),  # median business days signature -> project
    "K02": (">=", 0.98),  # invoices aligned to contract terms
    "K06": ("<=", 45.0),  # DSO days (SPI typical 43.5-46.8)
    "K13": ("<=", 60.0),  # quote-to-cash median days
    "K03": ("<=", 3.0),  # amendment propagation median bd
    "K04": ("<=", 0.03),  # billing exception rate
    "K05": (">=", 0.99),  # AR visibility coverage in CRM
    "K07": ("<=", 20.0),  # WIP days
    "K08": ("<=", 0.02),  # revenue leakage % of revenue
    "K11": ("<=", 3.0),  # billing cycle time bd
    "K12": (">=", 0.98),  # invoice accuracy
}

# kpi_id -> findings page filters that show what drives it.
KPI_LINKS: dict[str, dict[str, list[str]]] = {
    "K01": {"check": ["Q2C-010"]},
    "K02": {
        "check": [
            "Q2C-021",
            "Q2C-024",
            "Q2C-031",
            "Q2C-033",
            "Q2C-036",
            "Q2C-038",
            "Q2C-040",
            "Q2C-041",
            "Q2C-042",
            "Q2C-050",
            "Q2C-051",
            "Q2C-052",
            "Q2C-053",
            "Q2C-055",
            "Q2C-056",
        ]
    },
    "K03": {"check": ["Q2C-060", "Q2C-061", "Q2C-062", "Q2C-063"]},
    "K04": {
        "severity": ["S1", "S2"],
        "domain": ["billing_setup", "delivery_to_bill", "bill_compliance", "amendments"],
    },
    "K05": {"check": ["Q2C-070", "Q2C-071", "Q2C-072"]},
    "K07": {"check": ["Q2C-032", "Q2C-032b"]},
    "K08": {"kind": ["leakage"]},
    "K11": {"check": ["Q2C-030", "Q2C-053"]},
    "K12": {"check": ["Q2C-033", "Q2C-038", "Q2C-050", "Q2C-051", "Q2C-052"]},
}


def _norm(value: float, target: float) -> float:
    """Bring a percent (98) to the target's scale when the target is a share (0.98)."""
    return value / 100 if target <= 1 and value > 1 else value


def meets(kpi_id: str, value: float | None) -> bool | None:
    """Whether a KPI value meets its target; None when there is no target or no value."""
    if value is None or kpi_id not in TARGETS:
        return None
    op, target = TARGETS[kpi_id]
    v = _norm(float(value), target)
    return v <= target if op == "<=" else v >= target
