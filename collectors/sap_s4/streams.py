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
# field specs 'Name:T' (T: D date, TS timestamp, AMT decimal amount, NUM double, BOOL, INT; none: text)
TYPES = {
    "D": "DATE",
    "TS": "TIMESTAMPTZ",
    "AMT": "DECIMAL(18,2)",
    "NUM": "DOUBLE",
    "BOOL": "BOOLEAN",
    "INT": "BIGINT",
}


@dataclass(frozen=True)
class EntitySet:
    """Where a stream lives (service and entity set), its key and change stamp, and its fields (name: type).

    Every entity set a firm's integration stamps carries the correlation extension field (correlated), and those
    with a change stamp (cursor) are read incrementally: $filter=LastChangeDateTime gt datetimeoffset'...'.
    """

    service: str
    entity_set: str
    key: str
    spec: str
    correlated: bool = True
    cursor: str | None = None

    @property
    def fields(self) -> dict[str, str]:
        out = {}
        for item in self.spec.split():
            name, _, typ = item.partition(":")
            out[name] = TYPES[typ] if typ else "VARCHAR"
        if self.correlated:
            out[CORRELATION] = "VARCHAR"
        if self.cursor:
            out[self.cursor] = "TIMESTAMPTZ"
        return out


_PROJ = "API_ENTERPRISE_PROJECT_SRV;v=0002"
_CPRJ = "SC_PROJ_ENGMT_CREATE_UPD_SRV"

ENTITY_SETS: dict[str, EntitySet] = {
    "company_code": EntitySet(
        "API_COMPANYCODE_SRV",
        "A_CompanyCode",
        "CompanyCode",
        "CompanyCode CompanyCodeName Country Currency VATRegistration",
    ),
    "customer": EntitySet(
        "API_BUSINESS_PARTNER",
        "A_Customer",
        "Customer",
        (
            "Customer CustomerName YY1_CRMAccountID Country YY1_Region TaxJurisdiction VATRegistration "
            "YY1_TaxExempt:BOOL YY1_BillToCountry PaymentTerms YY1_PORequired:BOOL"
        ),
    ),
    "workforce": EntitySet(
        "YY1_WORKFORCE_CDS",
        "YY1_Workforce",
        "PersonWorkAgreement",
        "PersonWorkAgreement PersonFullName CompanyCode JobName YY1_Practice YY1_Region YY1_CostRate:AMT",
        correlated=False,
    ),
    "project": EntitySet(
        _PROJ,
        "A_EnterpriseProject",
        "Project",
        (
            "Project ProjectDescription YY1_Customer CompanyCode YY1_BillingType ProjectCurrency "
            "ProjectStartDate:D ProjectEndDate:D YY1_BudgetAmount:AMT YY1_BudgetHours:NUM "
            "YY1_BudgetUpdatedAt:TS YY1_BudgetSubcontract:AMT ProcessingStatus CreationDateTime:TS "
            "ActualEndDate:D YY1_ProjectManager YY1_Practice YY1_Region YY1_ProjectRole YY1_CustomerPO "
            "PaymentTerms YY1_SOWID"
        ),
        cursor=LAST_CHANGE,
    ),
    "project_element": EntitySet(
        _PROJ,
        "A_EnterpriseProjectElement",
        "ProjectElement",
        (
            "ProjectElement Project ProjectElementDescription YY1_WBSCode WBSElementIsBillingElement:BOOL "
            "IsProjectMilestone:BOOL YY1_MilestoneID"
        ),
        cursor=LAST_CHANGE,
    ),
    "team_member": EntitySet(
        _PROJ,
        "A_EntProjTeamMember",
        "TeamMember",
        "TeamMember Project BusinessPartner YY1_Role YY1_StartDate:D YY1_EndDate:D",
        cursor=LAST_CHANGE,
    ),
    "sales_order_item": EntitySet(
        _CPRJ,
        "A_CustProjSlsOrdItem",
        "CustProjSlsOrdItem",
        "CustProjSlsOrdItem CustomerProject YY1_BillingRuleType YY1_CapAmount:AMT YY1_CapHours:NUM",
        cursor=LAST_CHANGE,
    ),
    "billing_plan_item": EntitySet(
        _CPRJ,
        "A_CustProjSlsOrdItmBillgPlnItm",
        "BillingPlanItem",
        (
            "BillingPlanItem CustomerProject YY1_SOWID BillingPlanBillingDate:D BillingPlanAmount:AMT "
            "TransactionCurrency YY1_MilestoneID YY1_LineType"
        ),
        cursor=LAST_CHANGE,
    ),
    "timesheet": EntitySet(
        "API_MANAGE_WORKFORCE_TIMESHEET",
        "TimeSheetEntryCollection",
        "TimeSheetRecord",
        (
            "TimeSheetRecord PersonWorkAgreementExternalID CompanyCode YY1_Project WBSElement YY1_Role "
            "TimeSheetDate:D RecordedHours:AMT YY1_Billable:BOOL TimeSheetStatus YY1_SubmittedAt:TS "
            "YY1_ApprovedAt:TS YY1_CostRate:AMT YY1_BillingDocumentItem"
        ),
        cursor=LAST_CHANGE,
    ),
    "expense": EntitySet(
        "YY1_PROJECTEXPENSE_CDS",
        "YY1_ProjectExpense",
        "ExpenseItem",
        (
            "ExpenseItem PersonWorkAgreement Project ExpenseDate:D ExpenseType Amount:AMT Currency "
            "IsBillable:BOOL ApprovalStatus ApprovedAt:TS BillingDocumentItem"
        ),
        cursor=LAST_CHANGE,
    ),
    "billing_document": EntitySet(
        "API_BILLING_DOCUMENT_SRV",
        "A_BillingDocument",
        "BillingDocument",
        (
            "BillingDocument DocumentReferenceID BillingDocumentType SoldToParty CompanyCode YY1_SOWID "
            "YY1_Project AccountingPostingStatus InvoiceClearingStatus BillingDocumentIsCancelled:BOOL "
            "BillingDocumentDate:D YY1_PostedAt:TS YY1_NetDueDate:D TransactionCurrency TotalNetAmount:AMT "
            "TaxAmount:AMT TotalGrossAmount:AMT YY1_AmountCleared:AMT CustomerPaymentTerms "
            "PurchaseOrderByCustomer YY1_CreditedBillingDoc SDDocumentReason"
        ),
        cursor=LAST_CHANGE,
    ),
    "billing_document_item": EntitySet(
        "API_BILLING_DOCUMENT_SRV",
        "A_BillingDocumentItem",
        "BillingDocumentItem",
        (
            "BillingDocumentItem BillingDocument YY1_LineNo:INT YY1_LineType YY1_SourceID YY1_Role "
            "BillingQuantity:AMT YY1_UnitPrice:AMT NetAmount:AMT TaxCode YY1_TaxRate:NUM YY1_PeriodStart:D "
            "YY1_PeriodEnd:D YY1_ReasonCode YY1_ApprovedBy YY1_ServiceCategory YY1_AppliedToRetainer:BOOL"
        ),
    ),
    "payment": EntitySet(
        "API_OPLACCTGDOCITEMCUBE_SRV",
        "A_OperationalAcctgDocItemCube",
        "AccountingDocument",
        (
            "AccountingDocument AccountingDocumentType InvoiceReference Customer CompanyCode "
            "AmountInTransactionCurrency:AMT TransactionCurrency PostingDate:D ClearingDate:D"
        ),
    ),
    "purchase_order": EntitySet(
        "API_PURCHASEORDER_PROCESS_SRV",
        "A_PurchaseOrder",
        "PurchaseOrder",
        (
            "PurchaseOrder Supplier YY1_Project YY1_SOWID YY1_CapAmount:AMT DocumentCurrency "
            "ValidityStartDate:D ValidityEndDate:D YY1_AgreementStatus YY1_Rebillable:BOOL YY1_MarkupPct:NUM"
        ),
        cursor=LAST_CHANGE,
    ),
    "supplier_invoice": EntitySet(
        "API_SUPPLIERINVOICE_PROCESS_SRV",
        "A_SupplierInvoice",
        "SupplierInvoice",
        (
            "SupplierInvoice InvoicingParty YY1_Project YY1_PurchaseOrder DocumentDate:D "
            "InvoiceGrossAmount:AMT DocumentCurrency YY1_Rebillable:BOOL YY1_BillingDocumentItem"
        ),
    ),
    "revenue_contract": EntitySet(
        "YY1_REVENUECONTRACT_CDS",
        "YY1_RevenueContract",
        "RevenueContract",
        "RevenueContract SOWID TransactionPrice:AMT PriceChangedAt:TS",
    ),
    "revenue_posting": EntitySet(
        "YY1_REVENUEPOSTING_CDS",
        "YY1_RevenuePosting",
        "RevenuePostingLine",
        (
            "RevenuePostingLine SOWID Project FiscalPeriodStartDate:D RecognitionMethod Amount:AMT "
            "PostedAt:TS PeriodIsLocked:BOOL"
        ),
    ),
    "posting_period": EntitySet(
        "YY1_POSTINGPERIOD_CDS",
        "YY1_PostingPeriod",
        "PostingPeriod",
        "PostingPeriod FiscalPeriodStartDate:D LockedAt:TS",
        correlated=False,
    ),
    "write_down": EntitySet(
        "YY1_PROJECTWRITEDOWN_CDS",
        "YY1_ProjectWriteDown",
        "WriteDown",
        "WriteDown Project Amount:AMT Currency ReasonCode RequestedByRole ApprovedBy CreatedAt:TS",
    ),
    "collection_action": EntitySet(
        "YY1_COLLECTIONACTION_CDS",
        "YY1_CollectionAction",
        "CollectionAction",
        "CollectionAction BillingDocument ActionType ActionDate:D",
    ),
    "dispute": EntitySet(
        "YY1_DISPUTECASE_CDS",
        "YY1_DisputeCase",
        "DisputeCase",
        "DisputeCase BillingDocument OpenedOn:D ClosedOn:D ReasonCode",
    ),
    "milestone": EntitySet(
        "YY1_PROJECTMILESTONE_CDS",
        "YY1_ProjectMilestone",
        "Milestone",
        (
            "Milestone MilestoneName SOWID Project Amount:AMT DueDate:D MilestoneStatus CompletedOn:D "
            "AcceptedOn:D BillingTrigger"
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
