"""SAP S/4HANA Cloud streams as data: one OData v2 entity set per stream, field names from config.

Standard APIs where S/4HANA has one (enterprise projects, billing documents, customer-project billing plans,
business partners, operational accounting items, purchase orders, supplier invoices); what a services firm
keeps beyond them (write-downs, disputes, revenue postings, period locks, expenses, PSA milestones) is read from
custom CDS views exposed as OData services (YY1_<NAME>_CDS / YY1_<Name>), the way S/4HANA Cloud is extended.
Extension fields added with key-user extensibility carry the YY1_ prefix; a tenant's own names go in
[sources.sap_s4] fields = {default name = tenant name}, an entity set in another service in entity_sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collectors._source import resolve_names
from collectors.base import Column, Stream

CORRELATION = "YY1_CorrelationID"  # the key-user extension field holding the correlation ID (own setting)
LAST_CHANGE = "LastChangeDateTime"
D, TS, AMT, NUM, BOOL = "DATE", "TIMESTAMPTZ", "DECIMAL(18,2)", "DOUBLE", "BOOLEAN"


@dataclass(frozen=True)
class EntitySet:
    """Where a stream lives (service and entity set), its key and change stamp, and its fields (name: type)."""

    service: str
    entity_set: str
    key: str
    fields: Mapping[str, str]
    cursor: str | None = (
        None  # LastChangeDateTime where the entity has it: $filter ... gt datetimeoffset'...'
    )


def _f(*specs: str) -> dict[str, str]:
    out = {}
    for spec in specs:
        name, _, typ = spec.partition(":")
        out[name] = typ or "VARCHAR"
    return out


_PROJ = "API_ENTERPRISE_PROJECT_SRV;v=0002"
_CPRJ = "SC_PROJ_ENGMT_CREATE_UPD_SRV"
_LC = f"{LAST_CHANGE}:{TS}"
_C = CORRELATION

ENTITY_SETS: dict[str, EntitySet] = {
    "company_code": EntitySet(
        "API_COMPANYCODE_SRV",
        "A_CompanyCode",
        "CompanyCode",
        _f("CompanyCode", "CompanyCodeName", "Country", "Currency", "VATRegistration", _C),
    ),
    "customer": EntitySet(
        "API_BUSINESS_PARTNER",
        "A_Customer",
        "Customer",
        _f(
            "Customer",
            "CustomerName",
            "YY1_CRMAccountID",
            "Country",
            "YY1_Region",
            "TaxJurisdiction",
            "VATRegistration",
            f"YY1_TaxExempt:{BOOL}",
            "YY1_BillToCountry",
            "PaymentTerms",
            f"YY1_PORequired:{BOOL}",
            _C,
        ),
    ),
    "workforce": EntitySet(
        "YY1_WORKFORCE_CDS",
        "YY1_Workforce",
        "PersonWorkAgreement",
        _f(
            "PersonWorkAgreement",
            "PersonFullName",
            "CompanyCode",
            "JobName",
            "YY1_Practice",
            "YY1_Region",
            f"YY1_CostRate:{AMT}",
        ),
    ),
    "project": EntitySet(
        _PROJ,
        "A_EnterpriseProject",
        "Project",
        _f(
            "Project",
            "ProjectDescription",
            "YY1_Customer",
            "CompanyCode",
            "YY1_BillingType",
            "ProjectCurrency",
            f"ProjectStartDate:{D}",
            f"ProjectEndDate:{D}",
            f"YY1_BudgetAmount:{AMT}",
            f"YY1_BudgetHours:{NUM}",
            f"YY1_BudgetUpdatedAt:{TS}",
            f"YY1_BudgetSubcontract:{AMT}",
            "ProcessingStatus",
            f"CreationDateTime:{TS}",
            f"ActualEndDate:{D}",
            "YY1_ProjectManager",
            "YY1_Practice",
            "YY1_Region",
            "YY1_ProjectRole",
            "YY1_CustomerPO",
            "PaymentTerms",
            "YY1_SOWID",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "project_element": EntitySet(
        _PROJ,
        "A_EnterpriseProjectElement",
        "ProjectElement",
        _f(
            "ProjectElement",
            "Project",
            "ProjectElementDescription",
            "YY1_WBSCode",
            f"WBSElementIsBillingElement:{BOOL}",
            f"IsProjectMilestone:{BOOL}",
            "YY1_MilestoneID",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "team_member": EntitySet(
        _PROJ,
        "A_EntProjTeamMember",
        "TeamMember",
        _f(
            "TeamMember",
            "Project",
            "BusinessPartner",
            "YY1_Role",
            f"YY1_StartDate:{D}",
            f"YY1_EndDate:{D}",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "sales_order_item": EntitySet(
        _CPRJ,
        "A_CustProjSlsOrdItem",
        "CustProjSlsOrdItem",
        _f(
            "CustProjSlsOrdItem",
            "CustomerProject",
            "YY1_BillingRuleType",
            f"YY1_CapAmount:{AMT}",
            f"YY1_CapHours:{NUM}",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "billing_plan_item": EntitySet(
        _CPRJ,
        "A_CustProjSlsOrdItmBillgPlnItm",
        "BillingPlanItem",
        _f(
            "BillingPlanItem",
            "CustomerProject",
            "YY1_SOWID",
            f"BillingPlanBillingDate:{D}",
            f"BillingPlanAmount:{AMT}",
            "TransactionCurrency",
            "YY1_MilestoneID",
            "YY1_LineType",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "timesheet": EntitySet(
        "API_MANAGE_WORKFORCE_TIMESHEET",
        "TimeSheetEntryCollection",
        "TimeSheetRecord",
        _f(
            "TimeSheetRecord",
            "PersonWorkAgreementExternalID",
            "CompanyCode",
            "YY1_Project",
            "WBSElement",
            "YY1_Role",
            f"TimeSheetDate:{D}",
            f"RecordedHours:{AMT}",
            f"YY1_Billable:{BOOL}",
            "TimeSheetStatus",
            f"YY1_SubmittedAt:{TS}",
            f"YY1_ApprovedAt:{TS}",
            f"YY1_CostRate:{AMT}",
            "YY1_BillingDocumentItem",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "expense": EntitySet(
        "YY1_PROJECTEXPENSE_CDS",
        "YY1_ProjectExpense",
        "ExpenseItem",
        _f(
            "ExpenseItem",
            "PersonWorkAgreement",
            "Project",
            f"ExpenseDate:{D}",
            "ExpenseType",
            f"Amount:{AMT}",
            "Currency",
            f"IsBillable:{BOOL}",
            "ApprovalStatus",
            f"ApprovedAt:{TS}",
            "BillingDocumentItem",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "billing_document": EntitySet(
        "API_BILLING_DOCUMENT_SRV",
        "A_BillingDocument",
        "BillingDocument",
        _f(
            "BillingDocument",
            "DocumentReferenceID",
            "BillingDocumentType",
            "SoldToParty",
            "CompanyCode",
            "YY1_SOWID",
            "YY1_Project",
            "AccountingPostingStatus",
            "InvoiceClearingStatus",
            f"BillingDocumentIsCancelled:{BOOL}",
            f"BillingDocumentDate:{D}",
            f"YY1_PostedAt:{TS}",
            f"YY1_NetDueDate:{D}",
            "TransactionCurrency",
            f"TotalNetAmount:{AMT}",
            f"TaxAmount:{AMT}",
            f"TotalGrossAmount:{AMT}",
            f"YY1_AmountCleared:{AMT}",
            "CustomerPaymentTerms",
            "PurchaseOrderByCustomer",
            "YY1_CreditedBillingDoc",
            "SDDocumentReason",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "billing_document_item": EntitySet(
        "API_BILLING_DOCUMENT_SRV",
        "A_BillingDocumentItem",
        "BillingDocumentItem",
        _f(
            "BillingDocumentItem",
            "BillingDocument",
            "YY1_LineNo:BIGINT",
            "YY1_LineType",
            "YY1_SourceID",
            "YY1_Role",
            f"BillingQuantity:{AMT}",
            f"YY1_UnitPrice:{AMT}",
            f"NetAmount:{AMT}",
            "TaxCode",
            f"YY1_TaxRate:{NUM}",
            f"YY1_PeriodStart:{D}",
            f"YY1_PeriodEnd:{D}",
            "YY1_ReasonCode",
            "YY1_ApprovedBy",
            "YY1_ServiceCategory",
            f"YY1_AppliedToRetainer:{BOOL}",
            _C,
        ),
    ),
    "payment": EntitySet(
        "API_OPLACCTGDOCITEMCUBE_SRV",
        "A_OperationalAcctgDocItemCube",
        "AccountingDocument",
        _f(
            "AccountingDocument",
            "AccountingDocumentType",
            "InvoiceReference",
            "Customer",
            "CompanyCode",
            f"AmountInTransactionCurrency:{AMT}",
            "TransactionCurrency",
            f"PostingDate:{D}",
            f"ClearingDate:{D}",
            _C,
        ),
    ),
    "purchase_order": EntitySet(
        "API_PURCHASEORDER_PROCESS_SRV",
        "A_PurchaseOrder",
        "PurchaseOrder",
        _f(
            "PurchaseOrder",
            "Supplier",
            "YY1_Project",
            "YY1_SOWID",
            f"YY1_CapAmount:{AMT}",
            "DocumentCurrency",
            f"ValidityStartDate:{D}",
            f"ValidityEndDate:{D}",
            "YY1_AgreementStatus",
            f"YY1_Rebillable:{BOOL}",
            f"YY1_MarkupPct:{NUM}",
            _C,
            _LC,
        ),
        cursor=LAST_CHANGE,
    ),
    "supplier_invoice": EntitySet(
        "API_SUPPLIERINVOICE_PROCESS_SRV",
        "A_SupplierInvoice",
        "SupplierInvoice",
        _f(
            "SupplierInvoice",
            "InvoicingParty",
            "YY1_Project",
            "YY1_PurchaseOrder",
            f"DocumentDate:{D}",
            f"InvoiceGrossAmount:{AMT}",
            "DocumentCurrency",
            f"YY1_Rebillable:{BOOL}",
            "YY1_BillingDocumentItem",
            _C,
        ),
    ),
    "revenue_contract": EntitySet(
        "YY1_REVENUECONTRACT_CDS",
        "YY1_RevenueContract",
        "RevenueContract",
        _f("RevenueContract", "SOWID", f"TransactionPrice:{AMT}", f"PriceChangedAt:{TS}", _C),
    ),
    "revenue_posting": EntitySet(
        "YY1_REVENUEPOSTING_CDS",
        "YY1_RevenuePosting",
        "RevenuePostingLine",
        _f(
            "RevenuePostingLine",
            "SOWID",
            "Project",
            f"FiscalPeriodStartDate:{D}",
            "RecognitionMethod",
            f"Amount:{AMT}",
            f"PostedAt:{TS}",
            f"PeriodIsLocked:{BOOL}",
            _C,
        ),
    ),
    "posting_period": EntitySet(
        "YY1_POSTINGPERIOD_CDS",
        "YY1_PostingPeriod",
        "PostingPeriod",
        _f("PostingPeriod", f"FiscalPeriodStartDate:{D}", f"LockedAt:{TS}"),
    ),
    "write_down": EntitySet(
        "YY1_PROJECTWRITEDOWN_CDS",
        "YY1_ProjectWriteDown",
        "WriteDown",
        _f(
            "WriteDown",
            "Project",
            f"Amount:{AMT}",
            "Currency",
            "ReasonCode",
            "RequestedByRole",
            "ApprovedBy",
            f"CreatedAt:{TS}",
            _C,
        ),
    ),
    "collection_action": EntitySet(
        "YY1_COLLECTIONACTION_CDS",
        "YY1_CollectionAction",
        "CollectionAction",
        _f("CollectionAction", "BillingDocument", "ActionType", f"ActionDate:{D}", _C),
    ),
    "dispute": EntitySet(
        "YY1_DISPUTECASE_CDS",
        "YY1_DisputeCase",
        "DisputeCase",
        _f("DisputeCase", "BillingDocument", f"OpenedOn:{D}", f"ClosedOn:{D}", "ReasonCode", _C),
    ),
    "milestone": EntitySet(
        "YY1_PROJECTMILESTONE_CDS",
        "YY1_ProjectMilestone",
        "Milestone",
        _f(
            "Milestone",
            "MilestoneName",
            "SOWID",
            "Project",
            f"Amount:{AMT}",
            f"DueDate:{D}",
            "MilestoneStatus",
            f"CompletedOn:{D}",
            f"AcceptedOn:{D}",
            "BillingTrigger",
            _C,
        ),
    ),
}
DEFAULT_FIELDS = sorted({f for e in ENTITY_SETS.values() for f in e.fields})


def field_names(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Default field name -> the tenant's name in force (fields over defaults; correlation_field its own)."""
    cfg = cfg or {}
    out = resolve_names({f: f for f in DEFAULT_FIELDS}, cfg.get("fields"))
    out[CORRELATION] = str(cfg.get("correlation_field") or out[CORRELATION])
    return out


def entity_set(cfg: Mapping[str, Any] | None, stream: str) -> tuple[str, str]:
    """(service, entity set) of a stream: entity_sets.<stream> = 'SERVICE/EntitySet' over the default."""
    e = ENTITY_SETS[stream]
    override = ((cfg or {}).get("entity_sets") or {}).get(stream)
    if override:
        service, _, name = str(override).rpartition("/")
        return service or e.service, name
    return e.service, e.entity_set


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """One stream per entity set (file <SERVICE>/<EntitySet>.jsonl: v2 records as the service returns them)."""
    n = field_names(cfg)
    out = []
    for name, e in ENTITY_SETS.items():
        service, set_name = entity_set(cfg, name)
        columns = tuple(Column(n[f], typ, required=f == e.key) for f, typ in e.fields.items())
        out.append(
            Stream(
                name,
                columns,
                primary_key=(n[e.key],),
                cursor_field=n[e.cursor] if e.cursor else None,
                file_pattern=f"{service.split(';')[0]}/{set_name}.jsonl",
                description=f"GET /sap/opu/odata/sap/{service}/{set_name}",
            )
        )
    return out
