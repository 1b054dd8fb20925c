"""SAP S/4HANA Cloud exports: each entity set as OData v2 JSON records (what the service returns), one file each.

Values are written as a v2 service writes them: dates `/Date(ms)/`, timestamps `/Date(ms+0000)/`, decimals as
strings, booleans as JSON booleans, nulls kept. SAP codes stand where SAP has them (billing document types,
posting and clearing statuses, project processing status, timesheet status); the mapping reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render import sap_s4_docs
from closedloop.demo.render._fmt import (
    FirmLike,
    as_of_ts,
    json_object,
    jstr,
    modstamp,
    synthetic_ids,
    table,
    write_lines,
)
from collectors.sap_s4.codes import PROJECT_STATUS, TIMESHEET_STATUS, payment_terms, sap_code
from collectors.sap_s4.streams import CORRELATION, ENTITY_SETS, field_names, streams


def v2_value(e: pl.Expr, raw_type: str) -> pl.Expr:
    """A JSON fragment as an OData v2 service writes the value; null stays null (written as null)."""
    if raw_type == "BOOLEAN":
        return pl.when(e).then(pl.lit("true")).when(e.not_()).then(pl.lit("false"))
    if raw_type == "BIGINT":
        return e.cast(pl.Int64).cast(pl.String)
    if raw_type == "DATE":
        ms = e.cast(pl.Date).cast(pl.Int64) * 86_400_000
        return pl.lit('"/Date(') + ms.cast(pl.String) + pl.lit(')/"')
    if raw_type == "TIMESTAMPTZ":
        ms = e.cast(pl.Datetime("ms", "UTC")).dt.epoch("ms")
        return pl.lit('"/Date(') + ms.cast(pl.String) + pl.lit('+0000)/"')
    return jstr(e)  # strings, and Edm.Decimal as a string


class Writer:
    def __init__(self, out: Path, cfg: Mapping[str, Any]) -> None:
        self.out, self.n = out, field_names(cfg)
        self.streams = {s.name: s for s in streams(cfg)}

    def write(self, stream: str, frame: pl.DataFrame, values: Mapping[str, pl.Expr]) -> int:
        e = ENTITY_SETS[stream]
        if sorted(values) != sorted(e.fields):
            raise AssertionError(
                f"{stream}: declared-only {sorted(set(e.fields) - set(values))},"
                f" rendered-only {sorted(set(values) - set(e.fields))}"
            )
        meta = f'{{"type":"{e.service.split(";")[0]}.{e.entity_set}Type"}}'
        pairs = [("__metadata", pl.lit(meta))]
        pairs += [(self.n[f], v2_value(values[f], typ)) for f, typ in e.fields.items()]
        s = self.streams[stream]
        return write_lines(frame, json_object(pairs, keep_nulls=True), self.out / (s.file_pattern or ""))


def render(firm: FirmLike, out: Path, cfg: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, int]:
    """Every entity set of the firm as its S/4HANA tenant holds it."""
    w, now, col = Writer(Path(out), cfg or {}), as_of_ts(firm), pl.col
    clients = table(firm, "client").select(
        "client_id", pl.coalesce("erp_customer_id", "client_id").alias("c")
    )
    cust_ids = dict(clients.drop_nulls().unique("client_id", keep="first").iter_rows())

    def customer(c: str) -> pl.Expr:
        return col(c).replace_strict(cust_ids, default=col(c), return_dtype=pl.String)

    corr = {CORRELATION: col("correlation_id")}
    counts: dict[str, int] = {}
    counts["company_code"] = w.write(
        "company_code",
        table(firm, "legal_entity"),
        {
            "CompanyCode": col("legal_entity_id"),
            "CompanyCodeName": col("name"),
            "Country": col("country"),
            "Currency": col("functional_ccy"),
            "VATRegistration": col("tax_registration"),
        }
        | corr,
    )
    # every client the ERP knows: CRM clients with an ERP customer number, and ERP-only clients
    cl = table(firm, "client").filter(col("erp_customer_id").is_not_null() | col("crm_account_id").is_null())
    counts["customer"] = w.write(
        "customer",
        cl,
        {
            "Customer": pl.coalesce("erp_customer_id", "client_id"),
            "CustomerName": col("name"),
            "YY1_CRMAccountID": col("crm_account_id"),
            "Country": col("country"),
            "YY1_Region": col("region"),
            "TaxJurisdiction": col("tax_jurisdiction"),
            "VATRegistration": col("tax_id"),
            "YY1_TaxExempt": col("tax_exempt"),
            "YY1_BillToCountry": col("bill_to_country"),
            "PaymentTerms": payment_terms(col("payment_terms_days")),
            "YY1_PORequired": col("po_required"),
        }
        | corr,
    )
    counts["workforce"] = w.write(
        "workforce",
        table(firm, "resource"),
        {
            "PersonWorkAgreement": col("resource_id"),
            "PersonFullName": col("name"),
            "CompanyCode": col("legal_entity_id"),
            "JobName": col("role"),
            "YY1_Practice": col("practice"),
            "YY1_Region": col("region"),
            "YY1_CostRate": col("cost_rate"),
        },
    )
    counts |= _projects(firm, w, now, customer, corr)
    counts |= sap_s4_docs.render_billing(firm, w, now, customer, corr)
    counts |= sap_s4_docs.render_records(firm, w, now, corr)
    return counts


def _projects(firm, w: Writer, now, customer, corr) -> dict[str, int]:
    col, counts = pl.col, {}
    counts["project"] = w.write(
        "project",
        table(firm, "project"),
        {
            "Project": col("project_id"),
            "ProjectDescription": col("name"),
            "YY1_Customer": customer("client_id"),
            "CompanyCode": col("legal_entity_id"),
            "YY1_BillingType": col("billing_type"),
            "ProjectCurrency": col("currency"),
            "ProjectStartDate": col("start_date"),
            "ProjectEndDate": col("end_date"),
            "YY1_BudgetAmount": col("budget_amount"),
            "YY1_BudgetHours": col("budget_hours"),
            "YY1_BudgetUpdatedAt": col("budget_updated_at"),
            "YY1_BudgetSubcontract": col("budget_subcontract_cost"),
            "ProcessingStatus": sap_code("status", PROJECT_STATUS),
            "CreationDateTime": col("created_at"),
            "ActualEndDate": col("closed_date"),
            "YY1_ProjectManager": col("pm_id"),
            "YY1_Practice": col("practice"),
            "YY1_Region": col("region"),
            "YY1_ProjectRole": col("project_role"),
            "YY1_CustomerPO": col("po_number"),
            "PaymentTerms": payment_terms(col("payment_terms_days")),
            "YY1_SOWID": col("sow_id"),
            "LastChangeDateTime": modstamp(now, "created_at", "budget_updated_at"),
        }
        | corr,
    )
    counts["project_element"] = w.write(
        "project_element",
        table(firm, "task"),
        {
            "ProjectElement": col("task_id"),
            "Project": col("project_id"),
            "ProjectElementDescription": col("name"),
            "YY1_WBSCode": col("wbs_code"),
            "WBSElementIsBillingElement": col("billable"),
            "IsProjectMilestone": col("milestone_id").is_not_null(),
            "YY1_MilestoneID": col("milestone_id"),
            "LastChangeDateTime": modstamp(now),
        }
        | corr,
    )
    a = table(firm, "assignment")
    a = a.with_columns(
        source_id=pl.coalesce(
            "source_id", synthetic_ids(9_100_000_000, ["project_id", "resource_id", "start_date"])
        )
    )
    counts["team_member"] = w.write(
        "team_member",
        a,
        {
            "TeamMember": col("source_id"),
            "Project": col("project_id"),
            "BusinessPartner": col("resource_id"),
            "YY1_Role": col("role"),
            "YY1_StartDate": col("start_date"),
            "YY1_EndDate": col("end_date"),
            "LastChangeDateTime": modstamp(now),
        }
        | corr,
    )
    r = table(firm, "billing_rule")
    r = r.with_columns(
        source_id=pl.coalesce("source_id", synthetic_ids(9_200_000_000, ["project_id", "rule_type"]))
    )
    counts["sales_order_item"] = w.write(
        "sales_order_item",
        r,
        {
            "CustProjSlsOrdItem": col("source_id"),
            "CustomerProject": col("project_id"),
            "YY1_BillingRuleType": col("rule_type"),
            "YY1_CapAmount": col("cap"),
            "YY1_CapHours": col("cap_hours"),
            "LastChangeDateTime": modstamp(now),
        }
        | corr,
    )
    counts["billing_plan_item"] = w.write(
        "billing_plan_item",
        table(firm, "billing_schedule"),
        {
            "BillingPlanItem": col("schedule_line_id"),
            "CustomerProject": col("project_id"),
            "YY1_SOWID": col("sow_id"),
            "BillingPlanBillingDate": col("bill_date"),
            "BillingPlanAmount": col("amount"),
            "TransactionCurrency": col("currency"),
            "YY1_MilestoneID": col("milestone_id"),
            "YY1_LineType": col("line_type"),
            "LastChangeDateTime": col("updated_at"),
        }
        | corr,
    )
    counts["timesheet"] = w.write(
        "timesheet",
        table(firm, "time_entry"),
        {
            "TimeSheetRecord": col("time_entry_id"),
            "PersonWorkAgreementExternalID": col("resource_id"),
            "CompanyCode": col("resource_legal_entity_id"),
            "YY1_Project": col("project_id"),
            "WBSElement": col("task_id"),
            "YY1_Role": col("role"),
            "TimeSheetDate": col("work_date"),
            "RecordedHours": col("hours"),
            "YY1_Billable": col("billable"),
            "TimeSheetStatus": sap_code("approval_status", TIMESHEET_STATUS),
            "YY1_SubmittedAt": col("submitted_at"),
            "YY1_ApprovedAt": col("approved_at"),
            "YY1_CostRate": col("cost_rate"),
            "YY1_BillingDocumentItem": col("invoice_line_id"),
            "LastChangeDateTime": modstamp(now, "submitted_at", "approved_at"),
        }
        | corr,
    )
    counts["expense"] = w.write(
        "expense",
        table(firm, "expense"),
        {
            "ExpenseItem": col("expense_id"),
            "PersonWorkAgreement": col("resource_id"),
            "Project": col("project_id"),
            "ExpenseDate": col("expense_date"),
            "ExpenseType": col("category"),
            "Amount": col("amount"),
            "Currency": col("currency"),
            "IsBillable": col("billable"),
            "ApprovalStatus": col("approval_status"),
            "ApprovedAt": col("approved_at"),
            "BillingDocumentItem": col("invoice_line_id"),
            "LastChangeDateTime": modstamp(now, "approved_at"),
        }
        | corr,
    )
    return counts
