"""Reference streams as data: the firm's own reference tables as CSV files, canonical column names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._source import cols
from collectors.base import Stream

LINEAGE = ("source_system", "source_id")
TABLES: dict[str, tuple[str, ...]] = {
    "fx_rate": ("rate_date:DATE", "from_ccy", "to_ccy", "rate:DECIMAL(18,8)", *LINEAGE),
    "calendar": ("d:DATE", "is_business_day:BOOLEAN", "legal_entity_id", "bd_no:BIGINT"),
    "tax_matrix": (
        "seller_country",
        "buyer_country",
        "service_category",
        "buyer_is_business:BOOLEAN",
        "expected_rate:DOUBLE",
        "reverse_charge:BOOLEAN",
        "valid_from:DATE",
        "valid_to:DATE",
        *LINEAGE,
    ),
    "rev_policy_matrix": ("billing_type", "over_time_criteria", "method", *LINEAGE, "correlation_id"),
    "expense_policy_rule": (
        "policy_id",
        "category",
        "allowed:BOOLEAN",
        "cap:DECIMAL(18,2)",
        "max_markup_pct:DOUBLE",
        *LINEAGE,
        "correlation_id",
    ),
    "approval_matrix": ("role", "threshold:DECIMAL(18,2)", *LINEAGE),
    "intercompany_agreement": ("supplier_le", "buyer_le", "valid_from:DATE", "valid_to:DATE", *LINEAGE),
}
KEYS = {
    "fx_rate": ("rate_date", "from_ccy", "to_ccy"),
    "calendar": ("d", "legal_entity_id"),
    "approval_matrix": ("role",),
}


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """One CSV per reference table (<table>.csv), columns as in canon."""
    return [
        Stream(name, cols(*specs), primary_key=KEYS.get(name, ()), file_pattern=f"{name}.csv")
        for name, specs in TABLES.items()
    ]
