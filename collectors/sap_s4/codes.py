"""SAP codes the demo tenant writes and the mapping reads back (collectors/sap_s4/mapping.sql).

Billing document type F2 (invoice) / G2 (credit memo); a billing document's state is three SAP fields:
AccountingPostingStatus (A not yet posted to FI, C posted), InvoiceClearingStatus (A open, B partly cleared,
C cleared) and BillingDocumentIsCancelled. Enterprise project ProcessingStatus 00 Created, 10 Released,
42 Closed; timesheet TimeSheetStatus 10 In Process, 20 Released for Approval, 30 Approved, 40 Rejected (those
two through the value maps of closedloop/valuemaps.py). Payment terms keys NT<days> (NT30 = net 30 days).
"""

from __future__ import annotations

import polars as pl

BILLING_TYPES = {"invoice": "F2", "credit_note": "G2"}
POSTING = {"draft": "A", "posted": "C", "partially_paid": "C", "paid": "C", "cancelled": "C"}
CLEARING = {"draft": "A", "posted": "A", "partially_paid": "B", "paid": "C", "cancelled": "A"}
PROJECT_STATUS = {"pending": "00", "active": "10", "closed": "42"}
TIMESHEET_STATUS = {"open": "10", "submitted": "20", "approved": "30", "rejected": "40"}


def payment_terms(days: pl.Expr) -> pl.Expr:
    """Payment-terms days as the terms key SAP holds (NT30)."""
    return pl.lit("NT") + days.cast(pl.Int64).cast(pl.String).str.zfill(2)


def sap_code(col: str, codes: dict[str, str]) -> pl.Expr:
    """A canonical word as SAP's code for it; a word SAP has no code for is written as it is."""
    return pl.col(col).replace_strict(dict(codes), default=pl.col(col), return_dtype=pl.String)
