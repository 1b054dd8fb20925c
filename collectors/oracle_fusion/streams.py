"""Oracle Fusion Cloud ERP / PPM streams: one per REST resource (or child resource), declared as data.

Standard attributes keep Oracle's names (ProjectId, TransactionNumber, EnteredAmount, ...). What Oracle has no
standard attribute for lives in descriptive flexfield (DFF) segments, whose API names each firm chooses: they are
the `flexfields` setting ({default segment name = your name}), and the correlation ID's segment is its own setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collectors._source import cols
from collectors.base import Stream

API_VERSION = "11.13.18.05"
CORRELATION = {"correlation_field": "correlationId"}
# DFF segments the mapping reads, by their default API names (camelCase, as Fusion exposes segment codes)
FLEXFIELDS = (
    "sowId",
    "projectId",
    "region",
    "taxJurisdiction",
    "billToCountry",
    "poRequired",
    "practice",
    "budgetAmount",
    "budgetHours",
    "budgetUpdatedAt",
    "budgetSubcontractCost",
    "closedDate",
    "projectRole",
    "capHours",
    "milestoneId",
    "submittedAt",
    "approvedAt",
    "invoiceLineId",
    "postedAt",
    "creditReasonCode",
    "lineType",
    "sourceId",
    "role",
    "taxRate",
    "reasonCode",
    "approvedBy",
    "serviceCategory",
    "appliedToRetainer",
    "appliedInvoiceId",
    "appliedDate",
    "rebillable",
    "markupPct",
    "tpUpdatedAt",
    "postedToGlAt",
    "periodLocked",
    "requestedByRole",
    "billingTrigger",
    "acceptedDate",
    "eventUpdatedAt",
    "poNumber",
)


@dataclass(frozen=True)
class Resource:
    """Where a stream lives: a collection resource, or a child collection read through its parent's `expand`."""

    path: str  # e.g. 'projects', 'receivablesInvoices'
    child: str | None = None  # e.g. 'receivablesInvoiceLines'
    parent_key: str | None = None  # the parent's id attribute, copied onto each child record


def names(cfg: Mapping[str, Any] | None) -> dict[str, str]:
    """Flexfield segment names in force, keyed by default name (plus correlation_field)."""
    cfg = cfg or {}
    renamed = cfg.get("flexfields") or {}
    out = {f: str(renamed.get(f) or f) for f in FLEXFIELDS}
    out["correlation_field"] = str(cfg.get("correlation_field") or CORRELATION["correlation_field"])
    return out


# stream -> (resource, primary key, standard columns 'Name[:TYPE]', flexfield segments 'default[:TYPE]')
_T = "TIMESTAMPTZ"
_M = "DECIMAL(18,2)"
SPECS: dict[str, tuple[Resource, str, tuple[str, ...], tuple[str, ...]]] = {
    "legalEntities": (
        Resource("legalEntities"),
        "LegalEntityId",
        ("LegalEntityId", "Name", "CountryCode", "FunctionalCurrencyCode", "RegistrationNumber"),
        (),
    ),
    "customerAccounts": (
        Resource("customerAccounts"),
        "CustomerAccountId",
        (
            "CustomerAccountId",
            "AccountNumber",
            "OrganizationName",
            "OrigSystemReference",
            "CountryCode",
            "TaxRegistrationNumber",
            "TaxExemptFlag:BOOLEAN",
            "PaymentTerms",
        ),
        ("region", "taxJurisdiction", "billToCountry", "poRequired:BOOLEAN"),
    ),
    "laborResources": (
        Resource("projectEnterpriseLaborResources"),
        "ResourceId",
        ("ResourceId", "ResourceName", "LegalEntityId", "JobName", "OrganizationName", f"CostRate:{_M}"),
        ("region",),
    ),
    "projects": (
        Resource("projects"),
        "ProjectId",
        (
            "ProjectId",
            "ProjectNumber",
            "ProjectName",
            "CustomerAccountId",
            "LegalEntityId",
            "ProjectTypeName",
            "ProjectCurrencyCode",
            "ProjectStartDate:DATE",
            "ProjectFinishDate:DATE",
            "ProjectStatus",
            f"CreationDate:{_T}",
            "ProjectManagerResourceId",
            "OwningOrganizationName",
            "PaymentTerms",
        ),
        (
            "sowId",
            f"budgetAmount:{_M}",
            "budgetHours:DOUBLE",
            f"budgetUpdatedAt:{_T}",
            f"budgetSubcontractCost:{_M}",
            "closedDate:DATE",
            "region",
            "projectRole",
            "poNumber",
        ),
    ),
    "projectTasks": (
        Resource("projects", "Tasks", "ProjectId"),
        "TaskId",
        ("TaskId", "ProjectId", "TaskNumber", "TaskName", "BillableFlag:BOOLEAN"),
        ("milestoneId",),
    ),
    "resourceAssignments": (
        Resource("projectResourceAssignments"),
        "AssignmentId",
        (
            "AssignmentId",
            "ProjectId",
            "ResourceId",
            "ProjectRoleName",
            "AssignmentStartDate:DATE",
            "AssignmentEndDate:DATE",
        ),
        (),
    ),
    "billPlans": (
        Resource("projectContractBillPlans"),
        "BillPlanId",
        ("BillPlanId", "ProjectId", "BillMethodName", f"HardLimitAmount:{_M}"),
        ("capHours:DOUBLE",),
    ),
    "billingEvents": (
        Resource("projectBillingEvents"),
        "EventId",
        (
            "EventId",
            "ProjectId",
            "ContractNumber",
            "CompletionDate:DATE",
            f"BillTransactionAmount:{_M}",
            "BillTransactionCurrencyCode",
            "EventTypeName",
        ),
        ("milestoneId", f"eventUpdatedAt:{_T}"),
    ),
    "milestones": (
        Resource("projectMilestones"),
        "MilestoneId",
        (
            "MilestoneId",
            "ContractNumber",
            "ProjectId",
            "MilestoneName",
            f"Amount:{_M}",
            "DueDate:DATE",
            "MilestoneStatus",
            "CompletionDate:DATE",
        ),
        ("acceptedDate:DATE", "billingTrigger"),
    ),
    "expenditureItems": (
        Resource("projectExpenditureItems"),
        "ExpenditureItemId",
        (
            "ExpenditureItemId",
            "ExpenditureTypeClass",
            "ProjectId",
            "TaskId",
            "PersonId",
            "ProviderLegalEntityId",
            "ProjectRoleName",
            "ExpenditureItemDate:DATE",
            "Quantity:DECIMAL(18,2)",
            "BillableFlag:BOOLEAN",
            "ApprovalStatus",
            f"RawCostRate:{_M}",
            "ExpenditureCategoryName",
            f"TransactionAmount:{_M}",
            "TransactionCurrencyCode",
        ),
        (f"submittedAt:{_T}", f"approvedAt:{_T}", "invoiceLineId"),
    ),
    "receivablesInvoices": (
        Resource("receivablesInvoices"),
        "CustomerTransactionId",
        (
            "CustomerTransactionId",
            "TransactionNumber",
            "TransactionType",
            "BillToCustomerAccountId",
            "LegalEntityId",
            "InvoiceStatus",
            "TransactionDate:DATE",
            "DueDate:DATE",
            "InvoiceCurrencyCode",
            f"EnteredAmount:{_M}",
            f"TaxAmount:{_M}",
            f"LinesAmount:{_M}",
            f"InvoiceBalanceAmount:{_M}",
            "PaymentTerms",
            "PurchaseOrder",
            "CrossReference",
        ),
        ("sowId", "projectId", f"postedAt:{_T}", "creditReasonCode"),
    ),
    "receivablesCreditMemos": (
        Resource("receivablesCreditMemos"),
        "CustomerTransactionId",
        (
            "CustomerTransactionId",
            "TransactionNumber",
            "TransactionType",
            "BillToCustomerAccountId",
            "LegalEntityId",
            "CreditMemoStatus",
            "TransactionDate:DATE",
            "DueDate:DATE",
            "CreditMemoCurrencyCode",
            f"EnteredAmount:{_M}",
            f"TaxAmount:{_M}",
            f"LinesAmount:{_M}",
            f"CreditMemoBalanceAmount:{_M}",
            "PaymentTerms",
            "PurchaseOrder",
            "CrossReference",
        ),
        ("sowId", "projectId", f"postedAt:{_T}", "creditReasonCode"),
    ),
    "receivablesInvoiceLines": (
        Resource("receivablesInvoices", "receivablesInvoiceLines", "CustomerTransactionId"),
        "CustomerTransactionLineId",
        (
            "CustomerTransactionLineId",
            "CustomerTransactionId",
            "LineNumber:BIGINT",
            "Quantity:DECIMAL(18,2)",
            f"UnitSellingPrice:{_M}",
            f"LineAmount:{_M}",
            "TaxClassificationCode",
            "RuleStartDate:DATE",
            "RuleEndDate:DATE",
            "MemoLineName",
        ),
        (
            "lineType",
            "sourceId",
            "role",
            "taxRate:DOUBLE",
            "reasonCode",
            "approvedBy",
            "appliedToRetainer:BOOLEAN",
        ),
    ),
    "receivablesCreditMemoLines": (
        Resource("receivablesCreditMemos", "receivablesCreditMemoLines", "CustomerTransactionId"),
        "CustomerTransactionLineId",
        (
            "CustomerTransactionLineId",
            "CustomerTransactionId",
            "LineNumber:BIGINT",
            "Quantity:DECIMAL(18,2)",
            f"UnitSellingPrice:{_M}",
            f"LineAmount:{_M}",
            "TaxClassificationCode",
            "RuleStartDate:DATE",
            "RuleEndDate:DATE",
            "MemoLineName",
        ),
        (
            "lineType",
            "sourceId",
            "role",
            "taxRate:DOUBLE",
            "reasonCode",
            "approvedBy",
            "appliedToRetainer:BOOLEAN",
        ),
    ),
    "standardReceipts": (
        Resource("standardReceipts"),
        "StandardReceiptId",
        (
            "StandardReceiptId",
            "ReceiptNumber",
            "CustomerAccountId",
            "LegalEntityId",
            f"Amount:{_M}",
            "Currency",
            "ReceiptDate:DATE",
        ),
        ("appliedInvoiceId", "appliedDate:DATE"),
    ),
    "purchaseOrders": (
        Resource("purchaseOrders"),
        "POHeaderId",
        (
            "POHeaderId",
            "SupplierId",
            "ProjectId",
            f"Ordered:{_M}",
            "CurrencyCode",
            "StartDate:DATE",
            "EndDate:DATE",
            "Status",
        ),
        ("sowId", "rebillable:BOOLEAN", "markupPct:DOUBLE"),
    ),
    "payablesInvoices": (
        Resource("invoices"),
        "InvoiceId",
        (
            "InvoiceId",
            "SupplierId",
            "ProjectId",
            "PurchaseOrderId",
            "InvoiceDate:DATE",
            f"InvoiceAmount:{_M}",
            "InvoiceCurrency",
        ),
        ("rebillable:BOOLEAN", "invoiceLineId"),
    ),
    "revenueContracts": (
        Resource("revenueContracts"),
        "ContractId",
        ("ContractId", "ContractNumber", f"TransactionPrice:{_M}"),
        (f"tpUpdatedAt:{_T}",),
    ),
    "revenueDistributions": (
        Resource("projectRevenueDistributions"),
        "RevenueDistributionId",
        (
            "RevenueDistributionId",
            "ContractNumber",
            "ProjectId",
            "PeriodStartDate:DATE",
            "RevenueMethod",
            f"RevenueAmount:{_M}",
        ),
        (f"postedToGlAt:{_T}", "periodLocked:BOOLEAN"),
    ),
    "accountingPeriods": (
        Resource("accountingPeriods"),
        "PeriodId",
        ("PeriodId", "PeriodName", "StartDate:DATE", "EndDate:DATE", "ClosingStatus", f"ClosedDate:{_T}"),
        (),
    ),
    "writeDowns": (
        Resource("projectWriteDowns"),
        "WriteDownId",
        (
            "WriteDownId",
            "ProjectId",
            f"Amount:{_M}",
            "CurrencyCode",
            "ReasonCode",
            "ApprovedBy",
            f"CreationDate:{_T}",
        ),
        ("requestedByRole",),
    ),
    "collectionActions": (
        Resource("collectionsActions"),
        "ActionId",
        ("ActionId", "CustomerTransactionId", "ActionType", "ActionDate:DATE"),
        (),
    ),
    "disputes": (
        Resource("receivablesDisputes"),
        "DisputeId",
        ("DisputeId", "CustomerTransactionId", "DisputeDate:DATE", "ResolvedDate:DATE", "DisputeReason"),
        (),
    ),
}


def resource(stream: str, cfg: Mapping[str, Any] | None = None) -> Resource:
    """A stream's resource, its path renamed by the `resources` setting where the firm's release differs."""
    res = SPECS[stream][0]
    paths = (cfg or {}).get("resources") or {}
    return Resource(
        str(paths.get(res.path) or res.path),
        res.child and str(paths.get(res.child) or res.child),
        res.parent_key,
    )


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """Every stream with its columns: standard attributes, flexfield segments in force, LastUpdateDate."""
    n = names(cfg)
    out = []
    for name, (res, key, standard, flex) in SPECS.items():
        segs = []
        for spec in (*flex, "correlation_field"):
            seg, _, typ = spec.partition(":")
            segs.append(f"{n.get(seg, seg)}:{typ}" if typ else n.get(seg, seg))
        # a child record has no LastUpdateDate of its own in the expanded payload: its parent's cursor rules
        stamp = () if res.child else (f"LastUpdateDate:{_T}",)
        out.append(
            Stream(
                name,
                cols(*standard, *segs, *stamp, required=(key,)),
                primary_key=(key,),
                cursor_field=None if res.child else "LastUpdateDate",
                file_pattern=f"{name}.jsonl",
                description=f"/fscmRestApi/resources/{API_VERSION}/{res.path}"
                + (f"/child/{res.child}" if res.child else ""),
            )
        )
    return out
