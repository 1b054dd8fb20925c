"""NetSuite exports, masters and projects: SuiteQL items as JSON lines (bulk streams in netsuite_txn)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._fmt import (
    FirmLike,
    as_of_ts,
    modstamp,
    synthetic_ids,
    table,
    write_suiteql_jsonl,
)
from closedloop.demo.render.variants import acceptance_values, with_acceptance
from collectors.base import Stream
from collectors.netsuite.keys import ENTITY_ID, project_link
from collectors.netsuite.streams import names, streams

# Tables whose currency columns feed the currency list (table -> column).
CURRENCY_COLUMNS = {
    "legal_entity": "functional_ccy",
    "project": "currency",
    "invoice": "currency",
    "payment": "currency",
    "expense": "currency",
    "billing_schedule": "currency",
    "vendor_bill": "currency",
    "subcontract": "currency",
    "write_down": "currency",
}
TERM_COLUMNS = {
    "client": "payment_terms_days",
    "project": "payment_terms_days",
    "invoice": "payment_terms_days",
}


@dataclass
class Ctx:
    """What every NetSuite renderer shares: names in force, streams, lookups into NetSuite's own ids."""

    firm: FirmLike
    out: Path
    n: dict[str, str]
    streams: dict[str, Stream]
    now: dt.datetime
    currency_ids: dict[str, str]
    customer_ids: dict[str, str]
    project_entityids: dict[str, str]
    cfg: Mapping[str, Any] = field(default_factory=dict)  # the [sources.netsuite] section: variants to render

    def write(self, stream: str, frame: pl.DataFrame, values: dict[str, pl.Expr]) -> int:
        s = self.streams[stream]
        return write_suiteql_jsonl(frame, s, values, self.out / (s.file_pattern or ""))

    def currency(self, col: str) -> pl.Expr:
        """A currency column as NetSuite returns it: the currency record's internal id."""
        return pl.col(col).replace_strict(self.currency_ids, default=None, return_dtype=pl.String)

    def project(self, stream: str, col: str = "project_id") -> pl.Expr:
        """A stream's project reference as the firm's NetSuite holds it (project_links): internal or entity id."""
        if project_link(self.cfg, stream) != ENTITY_ID:
            return pl.col(col)
        return pl.col(col).replace_strict(self.project_entityids, default=pl.col(col), return_dtype=pl.String)

    def customer(self, col: str) -> pl.Expr:
        """A canonical client id as the NetSuite customer id it corresponds to."""
        return pl.col(col).replace_strict(self.customer_ids, default=pl.col(col), return_dtype=pl.String)


def term(col: str) -> pl.Expr:
    """Payment-terms days as the id of NetSuite's term record (see the term stream)."""
    return (pl.col(col).cast(pl.Int64) + 1000).cast(pl.String)


def context(firm: FirmLike, out: Path, cfg: Mapping[str, Any] | None) -> Ctx:
    symbols = sorted(
        {s for t, c in CURRENCY_COLUMNS.items() for s in table(firm, t)[c].drop_nulls().unique().to_list()}
    )
    clients = table(firm, "client").select(
        "client_id", pl.coalesce("erp_customer_id", "client_id").alias("cust")
    )
    return Ctx(
        firm=firm,
        out=out,
        n=names(cfg),
        streams={s.name: s for s in streams(cfg)},
        now=as_of_ts(firm),
        currency_ids={s: str(i + 1) for i, s in enumerate(symbols)},
        customer_ids=dict(clients.drop_nulls().unique("client_id", keep="first").iter_rows()),
        project_entityids=project_entityids(firm),
        cfg=cfg or {},
    )


def project_entityid() -> pl.Expr:
    """A project's entity id (PRJ000001, …): its position in the project table."""
    return pl.lit("PRJ") + pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(6)


def project_entityids(firm: FirmLike) -> dict[str, str]:
    """Project internal id -> entity id, for references rendered by entity id (project_links, project_key)."""
    p = table(firm, "project").select("project_id", project_entityid().alias("e"))
    return dict(p.drop_nulls().unique("project_id", keep="first").iter_rows())


def render_masters(c: Ctx) -> dict[str, int]:
    """currency, term, subsidiary, customer, employee."""
    n, counts = c.n, {}
    cur = pl.DataFrame({"symbol": list(c.currency_ids), "id": list(c.currency_ids.values())})
    counts["currency"] = c.write(
        "currency", cur, {"id": pl.col("id"), "symbol": pl.col("symbol"), "name": pl.col("symbol")}
    )
    days = pl.concat([table(c.firm, t).select(pl.col(col).alias("d")) for t, col in TERM_COLUMNS.items()])
    days = days.drop_nulls().unique().sort("d")
    counts["term"] = c.write(
        "term",
        days,
        {
            "id": term("d"),
            "name": pl.lit("Net ") + pl.col("d").cast(pl.String),
            "daysuntilnetdue": pl.col("d"),
        },
    )
    le = table(c.firm, "legal_entity")
    counts["subsidiary"] = c.write(
        "subsidiary",
        le,
        {
            "id": pl.col("legal_entity_id"),
            "name": pl.col("name"),
            "country": pl.col("country"),
            "currency": c.currency("functional_ccy"),
            "federalidnumber": pl.col("tax_registration"),
            "iselimination": pl.lit(False),
            "isinactive": pl.lit(False),
            n["correlation_record_field"]: pl.col("correlation_id"),
            "lastmodifieddate": modstamp(c.now),
        },
    )
    # every client known to the ERP: CRM clients with an ERP id, and ERP-only clients (no CRM account)
    cl = table(c.firm, "client").filter(
        pl.col("erp_customer_id").is_not_null() | pl.col("crm_account_id").is_null()
    )
    counts["customer"] = c.write(
        "customer",
        cl,
        {
            "id": pl.coalesce("erp_customer_id", "client_id"),
            "entityid": pl.lit("CUST-") + pl.coalesce("erp_customer_id", "client_id"),
            "companyname": pl.col("name"),
            "externalid": pl.col("crm_account_id"),
            "subsidiary": pl.lit(None, pl.String),
            "terms": term("payment_terms_days"),
            "vatregnumber": pl.col("tax_id"),
            "taxable": pl.col("tax_exempt").not_(),
            n["custentity_tax_jurisdiction"]: pl.col("tax_jurisdiction"),
            n["custentity_bill_country"]: pl.col("bill_to_country"),
            n["custentity_po_required"]: pl.col("po_required"),
            n["custentity_country"]: pl.col("country"),
            n["custentity_region"]: pl.col("region"),
            "isinactive": pl.lit(False),
            n["correlation_entity_field"]: pl.col("correlation_id"),
            "lastmodifieddate": modstamp(c.now),
        },
    )
    res = table(c.firm, "resource")
    counts["employee"] = c.write(
        "employee",
        res,
        {
            "id": pl.col("resource_id"),
            "entityid": pl.col("name"),
            "subsidiary": pl.col("legal_entity_id"),
            "title": pl.col("role"),
            n["custentity_practice"]: pl.col("practice"),
            n["custentity_region"]: pl.col("region"),
            "laborcost": pl.col("cost_rate"),
            "isinactive": pl.lit(False),
            "lastmodifieddate": modstamp(c.now),
        },
    )
    return counts


def render_projects(c: Ctx) -> dict[str, int]:
    """job, projecttask, resourceallocation, chargerule, billingschedule (+ lines)."""
    n, counts = c.n, {}
    p = table(c.firm, "project")
    counts["job"] = c.write(
        "job",
        p,
        {
            "id": pl.col("project_id"),
            "entityid": project_entityid(),
            "companyname": pl.col("name"),
            "parent": c.customer("client_id"),
            "subsidiary": pl.col("legal_entity_id"),
            "jobbillingtype": pl.col("billing_type"),
            "currency": c.currency("currency"),
            "startdate": pl.col("start_date"),
            "projectedenddate": pl.col("end_date"),
            n["custentity_closed_date"]: pl.col("closed_date"),
            "datecreated": pl.col("created_at"),
            "entitystatus": pl.col("status"),
            "projectmanager": pl.col("pm_id"),
            n["custentity_practice"]: pl.col("practice"),
            n["custentity_region"]: pl.col("region"),
            n["custentity_project_role"]: pl.col("project_role"),
            n["custentity_po_number"]: pl.col("po_number"),
            "terms": term("payment_terms_days"),
            n["custentity_budget_amount"]: pl.col("budget_amount"),
            n["custentity_budget_hours"]: pl.col("budget_hours"),
            n["custentity_budget_updated"]: pl.col("budget_updated_at"),
            n["custentity_budget_subcontract"]: pl.col("budget_subcontract_cost"),
            n["custentity_sow_id"]: pl.col("sow_id"),
            n["correlation_entity_field"]: pl.col("correlation_id"),
            "lastmodifieddate": modstamp(c.now, "created_at", "budget_updated_at"),
        },
    )
    t = with_acceptance(c.firm, table(c.firm, "task"))  # milestone_acceptance = 'project_task' (variants.py)
    counts["projecttask"] = c.write(
        "projecttask",
        t,
        {
            "id": pl.col("task_id"),
            "project": c.project("projecttask"),
            "title": pl.col("name"),
            n["custevent_wbs_code"]: pl.col("wbs_code"),
            "nonbillabletask": pl.col("billable").not_(),
            "ismilestone": pl.col("milestone_id").is_not_null(),
            n["custevent_milestone_id"]: pl.col("milestone_id"),
            n["correlation_event_field"]: pl.col("correlation_id"),
            "lastmodifieddate": modstamp(c.now),
        }
        | acceptance_values(n, c.streams["projecttask"].column_names()),
    )
    a = table(c.firm, "assignment")
    a = a.with_columns(
        source_id=pl.coalesce(
            "source_id", synthetic_ids(9_100_000_000, ["project_id", "resource_id", "start_date"])
        )
    )
    counts["resourceallocation"] = c.write(
        "resourceallocation",
        a,
        {
            "id": pl.col("source_id"),
            "project": c.project("resourceallocation"),
            "allocationresource": pl.col("resource_id"),
            n["custevent_role"]: pl.col("role"),
            "startdate": pl.col("start_date"),
            "enddate": pl.col("end_date"),
            n["correlation_event_field"]: pl.col("correlation_id"),
            "lastmodifieddate": modstamp(c.now),
        },
    )
    r = table(c.firm, "billing_rule")
    r = r.with_columns(
        source_id=pl.coalesce("source_id", synthetic_ids(9_200_000_000, ["project_id", "rule_type"]))
    )
    counts["chargerule"] = c.write(
        "chargerule",
        r,
        {
            "id": pl.col("source_id"),
            "project": c.project("chargerule"),
            "ruletype": pl.col("rule_type"),
            n["custrecord_cap"]: pl.col("cap"),
            n["custrecord_cap_hours"]: pl.col("cap_hours"),
            n["correlation_record_field"]: pl.col("correlation_id"),
            "lastmodifieddate": modstamp(c.now),
        },
    )
    if "billingschedule" not in c.streams:  # billing_schedules = 'charges': netsuite_charges renders them
        return counts
    keys = ["project_id", "sow_id", "currency"]
    b = table(c.firm, "billing_schedule").with_columns(_sched=synthetic_ids(9_300_000_000, keys))
    b = b.with_columns(_line=pl.col("bill_date").rank("ordinal").over("_sched"))
    head = b.unique("_sched", keep="first").sort("_sched")
    counts["billingschedule"] = c.write(
        "billingschedule",
        head,
        {
            "id": pl.col("_sched"),
            "name": pl.lit("Billing schedule ") + pl.col("_sched"),
            "project": c.project("billingschedule"),
            n["custrecord_sow_id"]: pl.col("sow_id"),
            "currency": c.currency("currency"),
            "lastmodifieddate": modstamp(c.now),
        },
    )
    counts["billingschedule_line"] = c.write(
        "billingschedule_line",
        b,
        {
            "id": pl.col("schedule_line_id"),
            "billingschedule": pl.col("_sched"),
            "linenumber": pl.col("_line"),
            "billdate": pl.col("bill_date"),
            "amount": pl.col("amount"),
            n["custrecord_milestone_id"]: pl.col("milestone_id"),
            n["custrecord_line_type"]: pl.col("line_type"),
            n["correlation_record_field"]: pl.col("correlation_id"),
            "lastmodifieddate": pl.col("updated_at"),  # the schedule line's own stamp; absent when unknown
        },
    )
    return counts
