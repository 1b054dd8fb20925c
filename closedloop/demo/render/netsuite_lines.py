"""NetSuite invoice lines as the firm cuts them (`invoice_lines`): one per time entry, or one per many.

'aggregated' renders the time lines a billing run made as one line per invoice x role x rate x service period
(every other line value equal too): quantity and amount are the members' exact sums, the line names no entry,
and each entry names the line that now bills it (custcol_invoice_line). An entry names one line only, so a line
that bills an entry whose own link names another line (the original of a credited and re-billed invoice, a
regenerated duplicate) is not the run's: it stays a line of its own that names its entry, as a hand-made line
does. The aggregated line keeps the id (and line number) of its first member, so a check's finding on a line
that was not merged keeps its id; closedloop/demo/variants.py translates the answer key for the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from collectors.netsuite.variants import choice

# the values an aggregated line shares with every line it replaces (quantity and amount are summed)
SHARED = (
    "invoice_id",
    "line_type",
    "role",
    "unit_price",
    "period_start",
    "period_end",
    "tax_code",
    "tax_rate",
    "reason_code",
    "approved_by",
    "service_category",
    "applied_to_retainer",
    "source_system",
    "correlation_id",
)


def lines_and_entries(
    lines: pl.DataFrame, entries: pl.DataFrame, cfg: Mapping[str, Any] | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The invoice lines and time entries as the section's `invoice_lines` has the firm hold them."""
    if choice(cfg, "invoice_lines") == "aggregated":
        return aggregate(lines, entries)
    return lines, entries


def line_map(lines: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
    """[invoice_line_id, line_id]: each time line its entry names, and the aggregated line that replaces it."""
    named = entries["invoice_line_id"].drop_nulls().unique().implode()
    run = lines.filter((pl.col("line_type") == "time") & pl.col("invoice_line_id").is_in(named))
    keys = [c for c in SHARED if c in run.columns]
    return run.sort("invoice_id", "line_no").select(
        "invoice_line_id", line_id=pl.col("invoice_line_id").first().over(keys)
    )


def aggregate(lines: pl.DataFrame, entries: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines, entries) of an estate that bills time aggregated: the lines as rendered, entries re-linked."""
    m = line_map(lines, entries)
    run = lines.join(m, on="invoice_line_id")
    merged = (
        run.sort("invoice_id", "line_no")
        .group_by("line_id", maintain_order=True)
        .agg(
            *[pl.col(c).first() for c in lines.columns if c not in ("invoice_line_id", "quantity", "amount")],
            pl.col("quantity").sum(),
            pl.col("amount").sum(),
        )
        .rename({"line_id": "invoice_line_id"})
        .with_columns(source_id=pl.lit(None, pl.String))
    )
    rest = lines.join(m, on="invoice_line_id", how="anti")
    out = pl.concat([rest, merged.select(lines.columns).cast(lines.schema)]).sort("invoice_id", "line_no")
    relinked = entries.join(m, on="invoice_line_id", how="left").with_columns(
        invoice_line_id=pl.coalesce("line_id", "invoice_line_id")
    )
    return out, relinked.drop("line_id")
