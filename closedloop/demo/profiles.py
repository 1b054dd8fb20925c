"""Estate profiles: the same generated firm as differently configured vendor estates, each with its config and key.

A real firm's Salesforce, NetSuite and Ironclad hold its own custom field names, its own picklist words and
only some of the optional fields and tables the product can use. A profile is one such estate:

- `sources`: per source, the config section its customer writes ([sources.<key>]). The renderer honours the
  same section (renamed fields, properties, record types and objects, `values` in the firm's own words), so
  the exports and the config agree the way a real estate and a correct config do.
- `lacks`: what the estate does not have at all, per source: vendor tables, objects, record types or reference
  files (None) or some of their fields. Rendered exports drop them and the NetSuite and Salesforce manifests
  (_schema.json) leave them out, so the sandbox refuses them as the vendor would.
- `systems`: the estate's vendor sources, one per role (CRM, CLM, ERP/PSA); each has a renderer
  (closedloop/demo/render/<kind>.py), a collector (collectors/<kind>) and a sandbox (closedloop/sandbox/vendors.py).
- `not_covered`: the checks this estate's data cannot judge because of what it lacks. They leave the answer
  key; the tests require coverage to report exactly these, and every other check to match the key exactly.
"""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closedloop import valuemaps
from closedloop.demo.config import DEFAULT_SYSTEMS

if TYPE_CHECKING:
    import polars as pl

    from closedloop.demo.firm.build import Firm

_FAMILIES = ("custentity", "custevent", "custrecord", "custcol", "custbody")


@dataclass(frozen=True)
class Profile:
    name: str
    about: str
    sources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    lacks: Mapping[str, Mapping[str, tuple[str, ...] | None]] = field(default_factory=dict)
    not_covered: frozenset[str] = frozenset()
    # the estate's vendor sources (source key = kind = collector module): its CRM, CLM and ERP/PSA
    systems: tuple[str, ...] = DEFAULT_SYSTEMS

    def answer_key(self, firm: Firm) -> pl.DataFrame:
        """The firm's answer key as this estate holds it (translated where a modeling variant merges the
        entities a check names, closedloop/demo/variants.py); checks it cannot cover leave it."""
        import polars as pl  # here, so the CLI can list the profiles without loading polars

        from closedloop.demo import variants

        key = variants.answer_key(firm, self.sources)
        return key.filter(~pl.col("check_id").is_in(sorted(self.not_covered)))

    def config_sections(self) -> dict[str, dict[str, Any]]:
        """The [sources.<key>] settings the customer writes: `values` only where the word is not already the
        canonical one up to case and spacing (those match without a line, as a customer would find)."""
        out: dict[str, dict[str, Any]] = {}
        for source, section in self.sources.items():
            section = copy.deepcopy(
                dict(section)
            )  # the caller may change its copy; the profile stays as declared
            values = {
                column: {v: c for v, c in pairs.items() if valuemaps.normalize(v) != valuemaps.normalize(c)}
                for column, pairs in (section.pop("values", None) or {}).items()
            }
            values = {column: pairs for column, pairs in values.items() if pairs}
            out[source] = section | ({"values": values} if values else {})
        return out


def _netsuite_renamed() -> dict[str, Any]:
    """A NetSuite account whose administrator prefixed every custom field and record with the firm's own 'acme'."""
    from collectors.netsuite.streams import CORRELATION, CUSTOM_FIELDS, CUSTOM_RECORDS

    def rename(name: str) -> str:
        fam = next(f for f in _FAMILIES if name.startswith(f + "_"))
        return f"{fam}_acme_{name.removeprefix(fam + '_')}"

    return {
        **{key: rename(default).replace("correlation_id", "flow_id") for key, default in CORRELATION.items()},
        "custom_fields": {f: rename(f) for f in CUSTOM_FIELDS},
        "custom_records": {k: v.replace("_cl_", "_acme_") for k, v in CUSTOM_RECORDS.items()},
    }


CUSTOM_NAMES = Profile(
    "custom-names",
    "Every custom field, object, record type and property under the firm's own names.",
    sources={
        "salesforce": {
            "correlation_field": "Flow_Id__c",
            "erp_customer_field": "NetSuite_Customer__c",
            "region_field": "Sales_Region__c",
            "legal_entity_field": "Contracting_Entity__c",
            "parent_sow_field": "Amends_SOW__c",
            "invoice_status_object": "ERP_Invoice__c",
            "inv_opportunity_field": "Deal__c",
            "inv_account_field": "Customer__c",
            "inv_number_field": "Document_Number__c",
            "inv_status_field": "Payment_Status__c",
            "inv_amount_field": "Invoice_Total__c",
            "inv_paid_field": "Amount_Received__c",
            "inv_balance_field": "Open_Balance__c",
            "inv_due_date_field": "Payment_Due__c",
            "inv_synced_field": "Synced_At__c",
        },
        "ironclad": {
            "correlation_property": "flowId",
            "opportunity_property": "sfdcOpportunityId",
            "record_types": {
                "msa": "masterServicesAgreement",
                "sow": "consultingSow",
                "amendment": "changeOrder",
                "rate_card": "rateSchedule",
                "milestone": "billingMilestone",
            },
            "properties": {
                "client_id": "sfdcAccountId",
                "contract_id": "msaReference",
                "sow_id": "sowReference",
                "status": "contractStatus",
                "signed_date": "executedDate",
                "end_date": "termEndDate",
                "value": "totalContractValue",
                "cap_amount": "nteAmount",
                "billing_type": "pricingModel",
                "expense_cap": "expenseLimit",
                "bill_rate": "hourlyRate",
                "amount": "amountDue",
                "accepted_date": "clientAcceptedOn",
            },
        },
        "netsuite": _netsuite_renamed(),
    },
)

OWN_WORDS = Profile(
    "own-words",
    "Statuses, types and stages in the firm's own words (some only in other casing, which needs no map) and a"
    " few fields under its own names: the estate `closedloop discover` drafts the config of.",
    sources={
        "salesforce": {
            "correlation_field": "Engagement_Key__c",
            "inv_number_field": "Invoice_No__c",
            "values": {
                "opportunity.deal_type": {
                    "New Business": "new",
                    "Change Order": "change_order",
                    "RENEWAL": "renewal",
                    "Term Extension": "extension",
                },
                "crm_invoice_status.status": {
                    "Unpaid": "open",
                    "Paid": "paid",
                    "Part Paid": "partially_paid",
                    "Credited": "credited",
                    "Void": "cancelled",
                    "Past Due": "overdue",
                },
            },
        },
        "ironclad": {
            "properties": {"billing_type": "billingModel"},
            "values": {
                "contract.status": {
                    "Fully Signed": "executed",
                    "Under Review": "in_review",
                    "Ended": "expired",
                },
                "sow.status": {"Fully Signed": "executed", "Under Review": "in_review", "DRAFT": "draft"},
                "amendment.status": {"Fully Signed": "executed", "Under Review": "in_review"},
                "sow.billing_type": {
                    "Time & Materials": "TM",
                    "T&M with Cap": "TM_CAP",
                    "Fixed Fee": "FF",
                    "Milestone": "MILESTONE",
                    "Retainer": "RETAINER",
                    "Managed Service": "MANAGED_SERVICE",
                },
                "amendment.change_type": {"Term": "end_date", "Value": "value", "Rate": "rate", "NTE": "cap"},
                "milestone.status": {
                    "Client Accepted": "accepted",
                    "Done": "completed",
                    "In Progress": "in_progress",
                },
                "milestone.billing_trigger": {"On Acceptance": "acceptance", "On Date": "date"},
            },
        },
        "netsuite": {
            "custom_fields": {
                "custentity_region": "custentity_sales_region",
                "custbody_sow_id": "custbody_cl_sow_id",
                "custcol_role": "custcol_resource_role",
            },
            "values": {
                "invoice.status": {
                    "Open": "posted",
                    "Paid In Full": "paid",
                    "Partially Paid": "partially_paid",
                },
                "project.status": {"In Progress": "active", "Not Started": "pending", "Closed": "closed"},
                "project.billing_type": {
                    "Time and Materials": "TM",
                    "Fixed Bid": "FF",
                    "Charge-Based": "MILESTONE",
                },
                "time_entry.approval_status": {
                    "Pending Approval": "submitted",
                    "APPROVED": "approved",
                    "Rejected": "rejected",
                },
                "expense.approval_status": {
                    "Pending Supervisor Approval": "submitted",
                    "Approved": "approved",
                },
                "invoice_line.line_type": {
                    "Labor": "time",
                    "Expense": "expense",
                    "Milestone Billing": "milestone",
                    "Fixed Fee": "fixed",
                },
                "billing_schedule.line_type": {"Fixed Amount": "fixed", "Milestone Billing": "milestone"},
            },
        },
    },
)

LEAN = Profile(
    "lean",
    "A smaller estate: optional custom fields, custom records, a CLM property and reference files it lacks.",
    lacks={
        "netsuite": {
            "customrecord_cl_dispute": None,
            "customrecord_cl_write_down": None,
            "job": ("custentity_budget_subcontract", "custentity_po_number"),
            "transaction": ("custbody_markup_pct",),
            "transactionline": ("custcol_service_category",),
        },
        "salesforce": {"Account": ("Region__c",)},
        "ironclad": {"statementOfWork": ("expenseCap",)},
        "reference": {"approval_matrix": None, "rev_policy_matrix": None},
    },
    # each for an input above: PO numbers on projects (012), the SOW expense cap (036), service category (042),
    # disputes (074), the revenue policy matrix (080), subcontract markup (092), subcontract budget (093)
    not_covered=frozenset({"Q2C-012", "Q2C-036", "Q2C-042", "Q2C-074", "Q2C-080", "Q2C-092", "Q2C-093"}),
)

MODELING_VARIANTS = Profile(
    "modeling-variants",
    "NetSuite modeled the way many firms do: one invoice line bills many time entries (the link on the entry),"
    " credit notes name the invoice they credit only in a memo, the service period sits on the invoice header.",
    sources={
        "netsuite": {
            "invoice_lines": "aggregated",
            "credit_note_link": "memo",
            "credit_note_memo_field": "custbody_credit_memo_text",
            "service_period": "header",
        }
    },
)

BUSINESS_KEYS = Profile(
    "business-keys",
    "Records keyed the way the systems hold them: Ironclad records have opaque ids, with the contract, SOW,"
    " amendment and milestone numbers in properties and references to parents by record id; NetSuite projects"
    " are known by their entity id (PRJ…), which invoices, time and milestones carry.",
    sources={
        "ironclad": {
            "keys": {
                "msa": "contractNumber",
                "sow": "sowNumber",
                "amendment": "amendmentId",
                "milestone": "milestoneId",
            },
            "links": {
                "sow.contract_id": "record_id",
                "amendment.sow_id": "record_id",
                "milestone.sow_id": "record_id",
                "rate_card.sow_id": "record_id",
                "rate_card.contract_id": "record_id",
            },
        },
        "netsuite": {
            "project_key": "entityid",
            "project_links": {"transaction": "entityid", "timebill": "entityid", "milestone": "entityid"},
        },
    },
)

CHARGE_BILLING = Profile(
    "charge-billing",
    "NetSuite with charge-based billing: billing schedules are SuiteBilling charge records, and a milestone's"
    " acceptance is recorded on its project task rather than on the milestone record.",
    sources={"netsuite": {"billing_schedules": "charges", "milestone_acceptance": "project_task"}},
)

CLM_MILESTONES = Profile(
    "clm-milestones",
    "Milestones live in the CLM, and their plan is the only billing schedule of milestone-billed SOWs.",
    sources={"netsuite": {"milestone_schedules": "clm_milestones"}},
    # schedule vs milestones compares the plan with itself (closedloop/demo/schedule_key.py)
    not_covered=frozenset({"Q2C-022"}),
)

DYNAMICS_PROJECT = Profile(
    "dynamics-project",
    "Salesforce and Ironclad with Dynamics 365 Project Operations as the ERP/PSA, read over the Dataverse Web API.",
    systems=("salesforce", "ironclad", "dynamics_project"),
)

DYNAMICS = Profile(
    "dynamics",
    "Dynamics 365 Sales as the CRM and Project Operations as the ERP/PSA, both over the Dataverse Web API, with"
    " Ironclad as the CLM. The integration's correlation column was created under the default publisher (new_).",
    sources={
        "dynamics_sales": {"correlation_field": "new_engagementkey"},
        "dynamics_project": {"correlation_field": "new_engagementkey"},
    },
    systems=("dynamics_sales", "ironclad", "dynamics_project"),
)

SAP = Profile(
    "sap",
    "Salesforce, Ironclad and SAP S/4HANA Cloud as the ERP/PSA: enterprise projects, customer-project billing"
    " plans, timesheets, billing documents and receivables clearing over OData v2, the rest from custom CDS views;"
    " extension fields under the tenant's own YY1_ names and one view in a service of its own naming.",
    sources={
        "sap_s4": {
            "correlation_field": "YY1_EngagementKey",
            "fields": {"YY1_SOWID": "YY1_SOWNumber", "YY1_CRMAccountID": "YY1_SalesforceAccount"},
            "entity_sets": {"write_down": "YY1_WRITEOFF_CDS/YY1_WriteOff"},
        }
    },
    systems=("salesforce", "ironclad", "sap_s4"),
)

DOCUSIGN = Profile(
    "docusign",
    "DocuSign CLM as the CLM: agreements through the Navigator API, Navigator ids on every document, the SOW,"
    " contract and amendment numbers and the CRM's ids in the account's custom provisions (some under the"
    " account's own names).",
    sources={
        "docusign_clm": {
            "correlation_provision": "engagement_key",
            "agreement_types": {"msa": "Master Services Agreement", "amendment": "Amendment agreement"},
            "custom_provisions": {"sow_id": "sow_reference", "billing_type": "pricing_model"},
        }
    },
    systems=("salesforce", "docusign_clm", "netsuite"),
)

ICERTIS = Profile(
    "icertis",
    "Icertis as the CLM, connected the generic way (no public API contract): its REST API configured by base URL,"
    " client-credentials auth, skip/top paging and the Data record path; agreements keyed by agreement code,"
    " some attributes under the tenant's own names.",
    sources={"icertis": {"fields": {"status": "AgreementStatus", "billing_type": "PricingModel"}}},
    systems=("salesforce", "icertis", "netsuite"),
)

ICERTIS_FILES = Profile(
    "icertis-files",
    "The icertis estate with Icertis collected from its scheduled CSV exports (transport = files) instead of its"
    " REST API: the same raw tables, the same findings.",
    sources={
        "icertis": {
            "transport": "files",
            "fields": {"status": "AgreementStatus", "billing_type": "PricingModel"},
        }
    },
    systems=("salesforce", "icertis", "netsuite"),
)

CONGA = Profile(
    "conga",
    "Conga CLM (Apttus agreements and line items in the Salesforce org, read through its REST API) as the CLM,"
    " beside Salesforce and NetSuite; agreements keyed by their agreement number, parents by record Id. The"
    " org's larger objects (past 1,000 rows to read) come through Salesforce Bulk API 2.0 query jobs.",
    # past the threshold (a COUNT() first): agreement line items at tier s; accounts from tier m
    sources={"conga": {"bulk_threshold": 1000}, "salesforce": {"bulk_threshold": 1000}},
    systems=("salesforce", "conga", "netsuite"),
)

# The mission's three composite estates (issue 20): each swaps two or three of the demo firm's systems at once,
# with the same names the single-system estates above use.
DYNAMICS_DOCUSIGN = Profile(
    "dynamics-docusign",
    "Dynamics 365 Sales as the CRM, DocuSign CLM as the CLM and Dynamics 365 Project Operations as the ERP/PSA:"
    " no Salesforce, Ironclad or NetSuite at all.",
    sources={**DYNAMICS.sources, **DOCUSIGN.sources},
    systems=("dynamics_sales", "docusign_clm", "dynamics_project"),
)

CONGA_SAP = Profile(
    "conga-sap",
    "Salesforce as the CRM with Conga CLM in the same org (Bulk API 2.0 past 1,000 rows) and SAP S/4HANA Cloud"
    " as the ERP/PSA over OData v2.",
    sources={**CONGA.sources, **SAP.sources},
    systems=("salesforce", "conga", "sap_s4"),
)

ORACLE_ICERTIS = Profile(
    "oracle-icertis",
    "Salesforce as the CRM, Icertis as the CLM over its REST API (the generic way) and Oracle Fusion Cloud ERP /"
    " PPM as the ERP/PSA over its REST resources.",
    sources=dict(ICERTIS.sources),
    systems=("salesforce", "icertis", "oracle_fusion"),
)

ORACLE_ICERTIS_FILES = Profile(
    "oracle-icertis-files",
    "The oracle-icertis estate with Icertis collected from its scheduled CSV exports instead of its REST API.",
    sources=dict(ICERTIS_FILES.sources),
    systems=("salesforce", "icertis", "oracle_fusion"),
)

DEFAULT = Profile("default", "The demo firm's own estate: the product's default names and values.")
ORACLE = Profile(
    "oracle",
    "Salesforce and Ironclad with Oracle Fusion Cloud ERP / PPM as the ERP/PSA, read over its REST resources.",
    systems=("salesforce", "ironclad", "oracle_fusion"),
)
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        DEFAULT,
        CUSTOM_NAMES,
        OWN_WORDS,
        LEAN,
        MODELING_VARIANTS,
        BUSINESS_KEYS,
        CHARGE_BILLING,
        CLM_MILESTONES,
        ORACLE,
        DYNAMICS_PROJECT,
        DYNAMICS,
        SAP,
        DOCUSIGN,
        ICERTIS,
        ICERTIS_FILES,
        CONGA,
        DYNAMICS_DOCUSIGN,
        CONGA_SAP,
        ORACLE_ICERTIS,
        ORACLE_ICERTIS_FILES,
    )
}


def profile(name: str) -> Profile:
    """The profile called name; a ValueError lists the others."""
    if name not in PROFILES:
        raise ValueError(f"unknown estate profile {name!r} (one of: {', '.join(PROFILES)})")
    return PROFILES[name]


def strip(exports: Path, prof: Profile) -> None:
    """Drop what the estate lacks from the rendered exports and write the vendors' schema manifests."""
    lacks = prof.lacks
    if prof.name == DEFAULT.name:
        return  # the demo estate as the sandbox has always served it: every table and field it exports
    if "netsuite" in prof.systems:
        _netsuite(exports / "netsuite", prof.sources.get("netsuite") or {}, lacks.get("netsuite") or {})
    if "salesforce" in prof.systems:
        _salesforce(exports / "salesforce", lacks.get("salesforce") or {})
    if "ironclad" in prof.systems:  # an estate with another CLM has no Ironclad records to strip
        _ironclad(exports / "ironclad" / "records", lacks.get("ironclad") or {})
    for name, fields in (lacks.get("reference") or {}).items():
        if fields is not None:
            raise ValueError(f"profile {prof.name}: reference files are lacked whole, not by column ({name})")
        (exports / "reference" / f"{name}.csv").unlink(missing_ok=True)


def _netsuite(root: Path, cfg: Mapping[str, Any], lacks: Mapping[str, tuple[str, ...] | None]) -> None:
    """Tables as the account has them: exported columns plus every declared one (items omit nulls)."""
    from collectors.netsuite import streams
    from collectors.netsuite.api import table_of

    schema: dict[str, list[str]] = {}
    for stream in streams(cfg):
        table = table_of(stream, cfg)
        path = root / (stream.file_pattern or "")
        cols = [c.name for c in stream.columns]
        if path.is_file():
            cols += _keys(path)
        schema[table] = list(dict.fromkeys(c.lower() for c in cols))
    for table, fields in lacks.items():
        if table not in schema:
            raise ValueError(f"netsuite lacks {table!r}, which no stream reads (tables: {', '.join(schema)})")
        path = next(root.glob(f"{table}.*"), None)
        if fields is None:
            schema.pop(table)
            if path is not None:
                path.unlink()
            continue
        schema[table] = [c for c in schema[table] if c not in fields]
        if path is not None:
            _drop_fields(path, fields)
    (root / "_schema.json").write_text(json.dumps(schema, indent=1), encoding="utf-8")


def _salesforce(root: Path, lacks: Mapping[str, tuple[str, ...] | None]) -> None:
    """Objects with their fields as /query returns them (records keep nulls, so their keys are the fields)."""
    schema = {p.stem: [k for k in _keys(p) if k != "attributes"] for p in root.glob("*.jsonl")}
    for obj, fields in lacks.items():
        if obj not in schema:
            raise ValueError(
                f"salesforce lacks {obj!r}, which is not exported (objects: {', '.join(schema)})"
            )
        if fields is None:
            schema.pop(obj)
            (root / f"{obj}.jsonl").unlink()
            continue
        schema[obj] = [f for f in schema[obj] if f not in fields]
        _drop_fields(root / f"{obj}.jsonl", fields)
    (root / "_schema.json").write_text(json.dumps(schema, indent=1), encoding="utf-8")


def _ironclad(records: Path, lacks: Mapping[str, tuple[str, ...] | None]) -> None:
    """Properties the tenant never created leave the records metadata and every record; a type leaves whole."""
    meta_path = records / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    for rtype, props in lacks.items():
        path = records / f"{rtype}.jsonl"
        if not path.is_file():
            raise ValueError(f"ironclad lacks record type {rtype!r}, which is not exported")
        if props is None:
            path.unlink()
            types = meta.get("recordTypes")
            if isinstance(types, dict):
                types.pop(rtype, None)
            continue
        for prop in props:
            meta.get("properties", {}).pop(prop, None)
        _rewrite_jsonl(path, lambda r, ps=props: [r.get("properties", {}).pop(p, None) for p in ps])
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _keys(path: Path) -> list[str]:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh), [])
    keys: dict[str, None] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                keys.update(dict.fromkeys(json.loads(line)))
    return list(keys)


def _drop_fields(path: Path, fields: tuple[str, ...]) -> None:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = [h for h in reader.fieldnames or [] if h not in fields]
            rows = [{h: row[h] for h in header} for row in reader]
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return
    _rewrite_jsonl(path, lambda r: [r.pop(f, None) for f in fields])


def _rewrite_jsonl(path: Path, change) -> None:
    lines = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                record = json.loads(line)
                change(record)
                lines.append(json.dumps(record, separators=(",", ":")))
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
