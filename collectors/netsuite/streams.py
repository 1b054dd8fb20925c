"""NetSuite streams as data: SuiteQL tables (lower-case columns), custom field names from config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._source import cols, resolve_names, split_spec
from collectors.base import Stream
from collectors.config_keys import duplicate_columns
from collectors.netsuite.schedules import ACCEPTANCE_FIELDS, variant_specs
from collectors.netsuite.variants import memo_field, service_period

# The correlation ID lives in one custom field per NetSuite field family (own settings).
CORRELATION = {
    "correlation_body_field": "custbody_correlation_id",  # transactions
    "correlation_entity_field": "custentity_correlation_id",  # customer, job, employee
    "correlation_column_field": "custcol_correlation_id",  # transaction lines, time, expense lines
    "correlation_event_field": "custevent_correlation_id",  # project tasks, resource allocations
    "correlation_record_field": "custrecord_correlation_id",  # custom records, schedules, periods
}
# Other custom fields and custom record tables, by default name; override in custom_fields / custom_records.
CUSTOM_FIELDS = """
custentity_tax_jurisdiction custentity_bill_country custentity_po_required custentity_country
custentity_region custentity_practice custentity_closed_date custentity_project_role
custentity_po_number custentity_budget_amount custentity_budget_hours custentity_budget_updated
custentity_budget_subcontract custentity_sow_id custevent_wbs_code custevent_milestone_id
custevent_role custrecord_sow_id custrecord_milestone_id custrecord_line_type custrecord_cap
custrecord_cap_hours custrecord_posted_at custrecord_period_locked custrecord_project
custrecord_invoice custrecord_amount custrecord_currency custrecord_reason_code
custrecord_requested_by_role custrecord_approved_by custrecord_action_type custrecord_action_date
custrecord_opened custrecord_closed custcol_role custcol_submitted_at custcol_approved_at
custcol_cost_rate custcol_invoice_line custcol_line_type custcol_source_id custcol_tax_rate
custcol_period_start custcol_period_end custcol_reason_code custcol_approved_by
custcol_service_category custcol_applied_to_retainer custbody_net_amount custbody_posted_at
custbody_source_ref custbody_credit_reason custbody_sow_id custbody_applied_invoice
custbody_applied_date custbody_subcontract custbody_invoice_line custbody_rebillable
custbody_markup_pct custbody_valid_from custbody_valid_to custbody_tp_updated custrecord_due_date
custrecord_status custrecord_completed_date custrecord_accepted_date custrecord_billing_trigger
custbody_period_start custbody_period_end
""".split()  # noqa: SIM905 -- 70 names read better as words than as a list literal
CUSTOM_RECORDS = {
    "write_down": "customrecord_cl_write_down",
    "collection_action": "customrecord_cl_collection_action",
    "dispute": "customrecord_cl_dispute",
    "milestone": "customrecord_cl_milestone",  # PSA-owned milestones (CLM ones come from Ironclad)
}
BULK = ("timebill", "expense_line", "transactionline")  # CSV exports (saved search / SuiteAnalytics)


def names(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Field and table names in force: correlation settings, custom_fields and custom_records over defaults."""
    cfg = cfg or {}
    out = resolve_names(CORRELATION, cfg)
    out |= resolve_names({f: f for f in [*CUSTOM_FIELDS, *ACCEPTANCE_FIELDS]}, cfg.get("custom_fields"))
    out |= resolve_names(CUSTOM_RECORDS, cfg.get("custom_records"))
    return out


def _specs(n: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Stream -> its column specs ('name:TYPE'), vendor names resolved."""
    c = n.get
    body, ent, col, ev, rec = (c(k) for k in CORRELATION)
    lm = "lastmodifieddate:TIMESTAMPTZ"
    return {
        "currency": ("id", "symbol", "name"),
        "term": ("id", "name", "daysuntilnetdue:BIGINT"),
        "subsidiary": (
            "id",
            "name",
            "country",
            "currency",
            "federalidnumber",
            "iselimination:BOOLEAN",
            "isinactive:BOOLEAN",
            rec,
            lm,
        ),
        "customer": (
            "id",
            "entityid",
            "companyname",
            "externalid",
            "subsidiary",
            "terms",
            "vatregnumber",
            "taxable:BOOLEAN",
            c("custentity_tax_jurisdiction"),
            c("custentity_bill_country"),
            f"{c('custentity_po_required')}:BOOLEAN",
            c("custentity_country"),
            c("custentity_region"),
            "isinactive:BOOLEAN",
            ent,
            lm,
        ),
        "employee": (
            "id",
            "entityid",
            "subsidiary",
            "title",
            c("custentity_practice"),
            c("custentity_region"),
            "laborcost:DECIMAL(18,2)",
            "isinactive:BOOLEAN",
            lm,
        ),
        "job": (
            "id",
            "entityid",
            "companyname",
            "parent",
            "subsidiary",
            "jobbillingtype",
            "currency",
            "startdate:DATE",
            "projectedenddate:DATE",
            f"{c('custentity_closed_date')}:DATE",
            "datecreated:TIMESTAMPTZ",
            "entitystatus",
            "projectmanager",
            c("custentity_practice"),
            c("custentity_region"),
            c("custentity_project_role"),
            c("custentity_po_number"),
            "terms",
            f"{c('custentity_budget_amount')}:DECIMAL(18,2)",
            f"{c('custentity_budget_hours')}:DOUBLE",
            f"{c('custentity_budget_updated')}:TIMESTAMPTZ",
            f"{c('custentity_budget_subcontract')}:DECIMAL(18,2)",
            c("custentity_sow_id"),
            ent,
            lm,
        ),
        "projecttask": (
            "id",
            "project",
            "title",
            c("custevent_wbs_code"),
            "nonbillabletask:BOOLEAN",
            "ismilestone:BOOLEAN",
            c("custevent_milestone_id"),
            ev,
            lm,
        ),
        "resourceallocation": (
            "id",
            "project",
            "allocationresource",
            c("custevent_role"),
            "startdate:DATE",
            "enddate:DATE",
            ev,
            lm,
        ),
        "chargerule": (
            "id",
            "project",
            "ruletype",
            f"{c('custrecord_cap')}:DECIMAL(18,2)",
            f"{c('custrecord_cap_hours')}:DOUBLE",
            rec,
            lm,
        ),
        "billingschedule": ("id", "name", "project", c("custrecord_sow_id"), "currency", lm),
        "billingschedule_line": (
            "id",
            "billingschedule",
            "linenumber:BIGINT",
            "billdate:DATE",
            "amount:DECIMAL(18,2)",
            c("custrecord_milestone_id"),
            c("custrecord_line_type"),
            rec,
            lm,
        ),
        "timebill": (
            "id",
            "employee",
            "customer",
            "casetaskevent",
            "subsidiary",
            c("custcol_role"),
            "trandate:DATE",
            "hours:DECIMAL(18,2)",
            "isbillable:BOOLEAN",
            "approvalstatus",
            f"{c('custcol_submitted_at')}:TIMESTAMPTZ",
            f"{c('custcol_approved_at')}:TIMESTAMPTZ",
            f"{c('custcol_cost_rate')}:DECIMAL(18,2)",
            c("custcol_invoice_line"),
            col,
            lm,
        ),
        "expense_line": (
            "id",
            "employee",
            "customer",
            "expensedate:DATE",
            "category",
            "foreignamount:DECIMAL(18,2)",
            "currency",
            "isbillable:BOOLEAN",
            "approvalstatus",
            f"{c('custcol_approved_at')}:TIMESTAMPTZ",
            c("custcol_invoice_line"),
            col,
            lm,
        ),
        "transaction": (
            "id",
            "tranid",
            "type",
            "entity",
            "job",
            "subsidiary",
            "trandate:DATE",
            "duedate:DATE",
            "status",
            "currency",
            "foreigntotal:DECIMAL(18,2)",
            "taxtotal:DECIMAL(18,2)",
            f"{c('custbody_net_amount')}:DECIMAL(18,2)",
            "foreignamountpaid:DECIMAL(18,2)",
            "terms",
            "otherrefnum",
            f"{c('custbody_posted_at')}:TIMESTAMPTZ",
            c("custbody_source_ref"),
            c("custbody_credit_reason"),
            c("custbody_sow_id"),
            c("custbody_applied_invoice"),
            f"{c('custbody_applied_date')}:DATE",
            c("custbody_subcontract"),
            c("custbody_invoice_line"),
            f"{c('custbody_rebillable')}:BOOLEAN",
            f"{c('custbody_markup_pct')}:DOUBLE",
            f"{c('custbody_valid_from')}:DATE",
            f"{c('custbody_valid_to')}:DATE",
            f"{c('custbody_tp_updated')}:TIMESTAMPTZ",
            body,
            lm,
        ),
        "transactionline": (
            "uniquekey",
            "transaction",
            "linesequencenumber:BIGINT",
            "mainline:BOOLEAN",
            "taxline:BOOLEAN",
            c("custcol_line_type"),
            c("custcol_source_id"),
            c("custcol_role"),
            "quantity:DECIMAL(18,2)",
            "rate:DECIMAL(18,2)",
            "foreignamount:DECIMAL(18,2)",
            "taxcode",
            f"{c('custcol_tax_rate')}:DOUBLE",
            f"{c('custcol_period_start')}:DATE",
            f"{c('custcol_period_end')}:DATE",
            c("custcol_reason_code"),
            c("custcol_approved_by"),
            c("custcol_service_category"),
            f"{c('custcol_applied_to_retainer')}:BOOLEAN",
            col,
        ),
        "revenueplan_line": (
            "id",
            "revenueplan",
            "job",
            c("custrecord_sow_id"),
            "plannedperiod",
            "revenuerecognitionrule",
            "amount:DECIMAL(18,2)",
            f"{c('custrecord_posted_at')}:TIMESTAMPTZ",
            f"{c('custrecord_period_locked')}:BOOLEAN",
            rec,
        ),
        "accountingperiod": (
            "id",
            "periodname",
            "startdate:DATE",
            "enddate:DATE",
            "isquarter:BOOLEAN",
            "isyear:BOOLEAN",
            "alllocked:BOOLEAN",
            "closedondate:TIMESTAMPTZ",
        ),
        "write_down": (
            "id",
            c("custrecord_project"),
            f"{c('custrecord_amount')}:DECIMAL(18,2)",
            c("custrecord_currency"),
            c("custrecord_reason_code"),
            c("custrecord_requested_by_role"),
            c("custrecord_approved_by"),
            "created:TIMESTAMPTZ",
            rec,
            "lastmodified:TIMESTAMPTZ",
        ),
        "collection_action": (
            "id",
            c("custrecord_invoice"),
            c("custrecord_action_type"),
            f"{c('custrecord_action_date')}:DATE",
            rec,
            "lastmodified:TIMESTAMPTZ",
        ),
        "milestone": (
            "id",
            "name",
            c("custrecord_sow_id"),
            c("custrecord_project"),
            f"{c('custrecord_amount')}:DECIMAL(18,2)",
            f"{c('custrecord_due_date')}:DATE",
            c("custrecord_status"),
            f"{c('custrecord_completed_date')}:DATE",
            f"{c('custrecord_accepted_date')}:DATE",
            c("custrecord_billing_trigger"),
            rec,
            "lastmodified:TIMESTAMPTZ",
        ),
        "dispute": (
            "id",
            c("custrecord_invoice"),
            f"{c('custrecord_opened')}:DATE",
            f"{c('custrecord_closed')}:DATE",
            c("custrecord_reason_code"),
            rec,
            "lastmodified:TIMESTAMPTZ",
        ),
    }


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """Every SuiteQL table the mapping reads: bulk ones as CSV, the rest as JSON lines of items."""
    n = names(cfg)
    out = []
    specs_by = _specs(n)
    memo = memo_field(cfg)  # read only when credit notes name their invoice there (variants.py)
    if memo and memo not in (spec.split(":")[0] for spec in specs_by["transaction"]):
        specs_by["transaction"] = (*specs_by["transaction"], memo)
    if service_period(cfg) == "header":  # the invoice's service period on its header, not on each line
        periods = {n["custcol_period_start"], n["custcol_period_end"]}
        specs_by["transactionline"] = tuple(
            spec for spec in specs_by["transactionline"] if spec.split(":")[0] not in periods
        )
        specs_by["transaction"] += (f"{n['custbody_period_start']}:DATE", f"{n['custbody_period_end']}:DATE")
    # schedule records or charges, acceptance on the milestone record or its project task (schedules.py)
    for name, specs in variant_specs(specs_by, n, cfg).items():
        pk = "uniquekey" if name == "transactionline" else "id"
        table = n.get(name, name)  # custom record tables are named by config
        cursor = next(
            (s.split(":")[0] for s in specs if s.split(":")[0] in ("lastmodifieddate", "lastmodified")), None
        )
        pattern = f"{table}.csv" if name in BULK else f"{table}.jsonl"
        duplicate_columns("netsuite", name, [split_spec(s) for s in specs], cfg)
        out.append(
            Stream(
                name,
                cols(*specs, required=(pk,)),
                primary_key=(pk,),
                cursor_field=cursor,
                file_pattern=pattern,
                description=f"SuiteQL: SELECT ... FROM {table}",
            )
        )
    return out
