"""Dynamics 365 Project Operations tables as data: the Dataverse tables holding the ERP/PSA side of the flow.

Projects, tasks, assignments, time, expenses, contract line schedules of value (the billing schedule) and
invoices with their lines are Project Operations' own tables (msdyn_*, invoice, invoicedetail). Payments,
revenue schedules, period locks, write-downs, collection actions, disputes, subcontracts and vendor bills live
in Dynamics 365 Finance, not in Dataverse: a firm that reconciles them from Dataverse keeps them in custom
tables its integration fills (cl_*, virtual or dual-written), which is what these read.
"""

from __future__ import annotations

from collectors._dataverse import CURRENCY, Entity

P = {"project_id": "msdyn_project"}  # the project lookup, _msdyn_project_value
CUR = "transactioncurrency"

ENTITIES: list[Entity] = [
    Entity(
        "cdm_company",
        "cdm_companies",
        "legal_entity",
        "legal_entity_id",
        key_attr="cdm_companycode",
        renames={"name": "cdm_name"},
        lookups={"functional_ccy": CUR},
    ),
    Entity(
        "account",
        "accounts",
        "client",
        "client_id",
        key_attr="accountnumber",
        renames={"name": "name", "country": "address1_country", "bill_to_country": "address2_country"},
    ),
    Entity(
        "bookableresource",
        "bookableresources",
        "resource",
        "resource_id",
        renames={"name": "name"},
        lookups={"legal_entity_id": "cdm_company"},
    ),
    Entity(
        "msdyn_project",
        "msdyn_projects",
        "project",
        "project_id",
        key_attr="msdyn_projectnumber",
        renames={
            "name": "msdyn_subject",
            "start_date": "msdyn_scheduledstart",
            "end_date": "msdyn_finish",
            "status": "statuscode",
            "billing_type": "msdyn_billingtype",
            "client_id": "msdyn_customer",
            "pm_id": "msdyn_projectmanager",
        },
        lookups={"client_id": "account", "legal_entity_id": "cdm_company", "currency": CUR},
    ),
    Entity(
        "msdyn_projecttask",
        "msdyn_projecttasks",
        "task",
        "task_id",
        renames={"name": "msdyn_subject", "wbs_code": "msdyn_wbsid"},
        lookups=P,
    ),
    Entity(
        "msdyn_resourceassignment",
        "msdyn_resourceassignments",
        "assignment",
        None,
        renames={"start_date": "msdyn_fromdate", "end_date": "msdyn_todate"},
        lookups=P | {"resource_id": "bookableresource"},
    ),
    Entity("cl_billingrule", "cl_billingrules", "billing_rule", None, lookups=P),
    Entity(
        "msdyn_contractlinescheduleofvalue",
        "msdyn_contractlinescheduleofvalues",
        "billing_schedule",
        "schedule_line_id",
        renames={"bill_date": "msdyn_invoicedate", "amount": "msdyn_amount"},
        lookups=P | {"currency": CUR},
    ),
    Entity(
        "msdyn_timeentry",
        "msdyn_timeentries",
        "time_entry",
        "time_entry_id",
        renames={"work_date": "msdyn_date", "approval_status": "msdyn_entrystatus"},
        lookups=P
        | {
            "task_id": "msdyn_projecttask",
            "resource_id": "bookableresource",
            "resource_legal_entity_id": "cdm_company",
        },
    ),
    Entity(
        "msdyn_expense",
        "msdyn_expenses",
        "expense",
        "expense_id",
        renames={"expense_date": "msdyn_transactiondate", "approval_status": "msdyn_expensestatus"},
        lookups=P | {"resource_id": "bookableresource", "currency": CUR},
    ),
    Entity(
        "invoice",
        "invoices",
        "invoice",
        "invoice_id",
        renames={
            "erp_invoice_no": "invoicenumber",
            "status": "statuscode",
            "due_date": "duedate",
            "tax_amount": "totaltax",
            "amount_gross": "totalamount",
            "client_id": "customerid",
            "project_id": "msdyn_project",
        },
        lookups=P | {"client_id": "account", "legal_entity_id": "cdm_company", "currency": CUR},
    ),
    Entity(
        "invoicedetail",
        "invoicedetails",
        "invoice_line",
        "invoice_line_id",
        renames={
            "line_no": "sequencenumber",
            "quantity": "quantity",
            "unit_price": "priceperunit",
            "amount": "extendedamount",
        },
        lookups={"invoice_id": "invoice"},
    ),
    Entity(
        "cl_payment",
        "cl_payments",
        "payment",
        "payment_id",
        lookups={"client_id": "account", "legal_entity_id": "cdm_company", "currency": CUR},
    ),
    Entity("cl_revenueschedule", "cl_revenueschedules", "revenue_schedule", "rev_line_id", lookups=P),
    Entity("cl_revenuecontract", "cl_revenuecontracts", "revenue_contract", None),
    Entity("cl_periodlock", "cl_periodlocks", "period_lock", None),
    Entity("cl_writedown", "cl_writedowns", "write_down", "write_down_id", lookups=P | {"currency": CUR}),
    Entity("cl_collectionaction", "cl_collectionactions", "collection_action", None),
    Entity("cl_dispute", "cl_disputes", "dispute", None),
    Entity(
        "cl_subcontract", "cl_subcontracts", "subcontract", "subcontract_id", lookups=P | {"currency": CUR}
    ),
    Entity("cl_vendorbill", "cl_vendorbills", "vendor_bill", "vendor_bill_id", lookups=P | {"currency": CUR}),
    Entity("cl_milestone", "cl_milestones", "milestone", "milestone_id", lookups=P),
]
ALL = [CURRENCY, *ENTITIES]
