"""NetSuite billing schedules as SuiteBilling charge records (`billing_schedules = 'charges'`).

One charge per canonical schedule line, keeping its id, so findings keyed by schedule line (Q2C-053) name the
same entity in either variant. The charge carries what NetSuite generates: the project and its customer, the
charge date, amount and currency, the charge type (fixed-date or milestone: a retainer fee is a fixed-date
charge), the stage (processed once invoiced, ready once due, not ready before) and the project's charge rule.
"""

from __future__ import annotations

import polars as pl

from closedloop.demo.render._fmt import synthetic_ids, table
from closedloop.demo.render.netsuite import Ctx

# canonical billing_schedule.line_type -> NetSuite charge type (display value; valuemaps maps it back)
CHARGE_TYPES = {"fixed": "Fixed Date", "retainer": "Fixed Date", "milestone": "Milestone"}


def _invoiced(c: Ctx) -> pl.DataFrame:
    """Schedule-line ids and milestone ids billed on a posted invoice: their charges are PROCESSED."""
    inv = table(c.firm, "invoice").filter(
        (pl.col("type") == "invoice") & ~pl.col("status").is_in(["draft", "cancelled"])
    )
    lines = table(c.firm, "invoice_line").filter(
        pl.col("line_type").is_in(["fixed", "retainer", "milestone"])
    )
    billed = lines.join(inv.select("invoice_id"), on="invoice_id", how="semi")
    return billed.select(pl.col("source_id").alias("_billed")).drop_nulls().unique()


def render_charges(c: Ctx) -> dict[str, int]:
    """charge: the billing schedule as charges, in place of billingschedule + billingschedule_line."""
    n = c.n
    b = table(c.firm, "billing_schedule")
    p = table(c.firm, "project").select("project_id", "client_id").unique("project_id", keep="first")
    r = table(c.firm, "billing_rule")
    r = r.with_columns(
        source_id=pl.coalesce("source_id", synthetic_ids(9_200_000_000, ["project_id", "rule_type"]))
    ).unique("project_id", keep="first")
    billed = _invoiced(c)["_billed"].implode()
    b = b.join(p, on="project_id", how="left").join(
        r.select("project_id", pl.col("source_id").alias("_rule")), on="project_id", how="left"
    )
    due = pl.col("bill_date") <= pl.lit(c.now.date())
    stage = (
        pl.when(pl.col("schedule_line_id").is_in(billed) | pl.col("milestone_id").is_in(billed))
        .then(pl.lit("PROCESSED"))
        .when(due)
        .then(pl.lit("READY_FOR_BILLING"))
        .otherwise(pl.lit("NOT_READY"))
    )
    kind = pl.col("line_type").replace_strict(
        CHARGE_TYPES, default=pl.col("line_type"), return_dtype=pl.String
    )
    what = pl.when(pl.col("milestone_id").is_not_null()).then(pl.lit("Milestone ") + pl.col("milestone_id"))
    return {
        "charge": c.write(
            "charge",
            b,
            {
                "id": pl.col("schedule_line_id"),
                "project": c.project("charge"),  # internal or entity id (project_links)
                "billto": c.customer("client_id"),
                "chargedate": pl.col("bill_date"),
                "amount": pl.col("amount"),
                "currency": c.currency("currency"),
                "chargetype": kind,
                "stage": stage,
                "description": what.otherwise(
                    kind + pl.lit(" charge ") + pl.col("bill_date").dt.strftime("%Y-%m")
                ),
                "rule": pl.col("_rule"),
                n["custrecord_milestone_id"]: pl.col("milestone_id"),
                n["correlation_record_field"]: pl.col("correlation_id"),
                "lastmodifieddate": pl.col("updated_at"),  # the line's own stamp, as on schedule lines
            },
        )
    }
