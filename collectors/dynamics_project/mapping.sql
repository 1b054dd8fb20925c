-- Dynamics 365 Project Operations -> canon (generated from collectors/dynamics_project/entities.py by
-- `python -m collectors.dynamics_project`; a test keeps the two equal). Each Dataverse table fills one canonical
-- table column for column: its key attribute is the canonical id, each lookup (_x_value, the referenced row's
-- GUID) is resolved to the referenced row's key, option sets arrive as their labels (value-mapped in canon).

INSERT INTO canon.legal_entity (legal_entity_id, name, country, functional_ccy, tax_registration, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cdm_companycode",
       r."cdm_name",
       r."cl_country",
       k3."isocurrencycode",
       r."cl_taxregistration",
       '${source}',
       r."cdm_companycode",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cdm_company r
LEFT JOIN raw.${source}__transactioncurrency k3 ON k3."transactioncurrencyid" = r."_cl_functionalccy_value";

INSERT INTO canon.client (client_id, crm_account_id, erp_customer_id, name, country, region, tax_jurisdiction, tax_id, tax_exempt, bill_to_country, payment_terms_days, po_required, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."accountnumber",
       r."cl_crmaccountid",
       r."cl_erpcustomerid",
       r."name",
       r."address1_country",
       r."cl_region",
       r."cl_taxjurisdiction",
       r."cl_taxid",
       r."cl_taxexempt",
       r."address2_country",
       r."cl_paymenttermsdays",
       r."cl_porequired",
       '${source}',
       r."accountnumber",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__account r;

INSERT INTO canon.resource (resource_id, name, legal_entity_id, role, practice, region, cost_rate, source_system, source_id, snapshot_ts)
SELECT r."cl_externalid",
       r."name",
       k2."cdm_companycode",
       r."cl_role",
       r."cl_practice",
       r."cl_region",
       r."cl_costrate",
       '${source}',
       r."cl_externalid",
       r._extracted_at
FROM raw.${source}__bookableresource r
LEFT JOIN raw.${source}__cdm_company k2 ON k2."cdm_companyid" = r."_cl_legalentityid_value";

INSERT INTO canon.project (project_id, sow_id, client_id, legal_entity_id, name, billing_type, currency, start_date, end_date, budget_amount, budget_hours, budget_updated_at, budget_subcontract_cost, status, created_at, closed_date, pm_id, practice, region, project_role, po_number, payment_terms_days, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."msdyn_projectnumber",
       r."cl_sowid",
       k2."accountnumber",
       k3."cdm_companycode",
       r."msdyn_subject",
       r."msdyn_billingtype@OData.Community.Display.V1.FormattedValue",
       k6."isocurrencycode",
       r."msdyn_scheduledstart",
       r."msdyn_finish",
       r."cl_budgetamount",
       r."cl_budgethours",
       r."cl_budgetupdatedat",
       r."cl_budgetsubcontractcost",
       r."statuscode@OData.Community.Display.V1.FormattedValue",
       r."cl_createdat",
       r."cl_closeddate",
       r."msdyn_projectmanager",
       r."cl_practice",
       r."cl_region",
       r."cl_projectrole",
       r."cl_ponumber",
       r."cl_paymenttermsdays",
       '${source}',
       r."msdyn_projectnumber",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__msdyn_project r
LEFT JOIN raw.${source}__account k2 ON k2."accountid" = r."_msdyn_customer_value"
LEFT JOIN raw.${source}__cdm_company k3 ON k3."cdm_companyid" = r."_cl_legalentityid_value"
LEFT JOIN raw.${source}__transactioncurrency k6 ON k6."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.task (task_id, project_id, wbs_code, name, billable, milestone_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       k1."msdyn_projectnumber",
       r."msdyn_wbsid",
       r."msdyn_subject",
       r."cl_billable",
       r."cl_milestoneid",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__msdyn_projecttask r
LEFT JOIN raw.${source}__msdyn_project k1 ON k1."msdyn_projectid" = r."_msdyn_project_value";

INSERT INTO canon.assignment (project_id, resource_id, role, start_date, end_date, source_system, source_id, snapshot_ts, correlation_id)
SELECT k0."msdyn_projectnumber",
       k1."cl_externalid",
       r."cl_role",
       r."msdyn_fromdate",
       r."msdyn_todate",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__msdyn_resourceassignment r
LEFT JOIN raw.${source}__msdyn_project k0 ON k0."msdyn_projectid" = r."_msdyn_project_value"
LEFT JOIN raw.${source}__bookableresource k1 ON k1."bookableresourceid" = r."_cl_resourceid_value";

INSERT INTO canon.billing_rule (project_id, rule_type, cap, cap_hours, source_system, source_id, snapshot_ts, correlation_id)
SELECT k0."msdyn_projectnumber",
       r."cl_ruletype@OData.Community.Display.V1.FormattedValue",
       r."cl_cap",
       r."cl_caphours",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_billingrule r
LEFT JOIN raw.${source}__msdyn_project k0 ON k0."msdyn_projectid" = r."_msdyn_project_value";

INSERT INTO canon.billing_schedule (schedule_line_id, project_id, sow_id, bill_date, amount, currency, milestone_id, line_type, updated_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       k1."msdyn_projectnumber",
       r."cl_sowid",
       r."msdyn_invoicedate",
       r."msdyn_amount",
       k5."isocurrencycode",
       r."cl_milestoneid",
       r."cl_linetype@OData.Community.Display.V1.FormattedValue",
       r."cl_updatedat",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__msdyn_contractlinescheduleofvalue r
LEFT JOIN raw.${source}__msdyn_project k1 ON k1."msdyn_projectid" = r."_msdyn_project_value"
LEFT JOIN raw.${source}__transactioncurrency k5 ON k5."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.time_entry (time_entry_id, project_id, task_id, resource_id, resource_legal_entity_id, role, work_date, hours, billable, approval_status, submitted_at, approved_at, cost_rate, invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       k1."msdyn_projectnumber",
       k2."cl_externalid",
       k3."cl_externalid",
       k4."cdm_companycode",
       r."cl_role",
       r."msdyn_date",
       r."cl_hours",
       r."cl_billable",
       r."msdyn_entrystatus@OData.Community.Display.V1.FormattedValue",
       r."cl_submittedat",
       r."cl_approvedat",
       r."cl_costrate",
       r."cl_invoicelineid",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__msdyn_timeentry r
LEFT JOIN raw.${source}__msdyn_project k1 ON k1."msdyn_projectid" = r."_msdyn_project_value"
LEFT JOIN raw.${source}__msdyn_projecttask k2 ON k2."msdyn_projecttaskid" = r."_cl_taskid_value"
LEFT JOIN raw.${source}__bookableresource k3 ON k3."bookableresourceid" = r."_cl_resourceid_value"
LEFT JOIN raw.${source}__cdm_company k4 ON k4."cdm_companyid" = r."_cl_resourcelegalentityid_value";

INSERT INTO canon.expense (expense_id, project_id, resource_id, expense_date, category, amount, currency, billable, approval_status, approved_at, invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       k1."msdyn_projectnumber",
       k2."cl_externalid",
       r."msdyn_transactiondate",
       r."cl_category",
       r."cl_amount",
       k6."isocurrencycode",
       r."cl_billable",
       r."msdyn_expensestatus@OData.Community.Display.V1.FormattedValue",
       r."cl_approvedat",
       r."cl_invoicelineid",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__msdyn_expense r
LEFT JOIN raw.${source}__msdyn_project k1 ON k1."msdyn_projectid" = r."_msdyn_project_value"
LEFT JOIN raw.${source}__bookableresource k2 ON k2."bookableresourceid" = r."_cl_resourceid_value"
LEFT JOIN raw.${source}__transactioncurrency k6 ON k6."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.invoice (invoice_id, erp_invoice_no, client_id, legal_entity_id, sow_id, project_id, type, status, invoice_date, posted_at, due_date, currency, amount_net, tax_amount, amount_gross, amount_paid, payment_terms_days, po_number, source_ref, credit_reason_code, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       r."invoicenumber",
       k2."accountnumber",
       k3."cdm_companycode",
       r."cl_sowid",
       k5."msdyn_projectnumber",
       r."cl_type@OData.Community.Display.V1.FormattedValue",
       r."statuscode@OData.Community.Display.V1.FormattedValue",
       r."cl_invoicedate",
       r."cl_postedat",
       r."duedate",
       k11."isocurrencycode",
       r."cl_amountnet",
       r."totaltax",
       r."totalamount",
       r."cl_amountpaid",
       r."cl_paymenttermsdays",
       r."cl_ponumber",
       r."cl_sourceref",
       r."cl_creditreasoncode",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__invoice r
LEFT JOIN raw.${source}__account k2 ON k2."accountid" = r."_customerid_value"
LEFT JOIN raw.${source}__cdm_company k3 ON k3."cdm_companyid" = r."_cl_legalentityid_value"
LEFT JOIN raw.${source}__msdyn_project k5 ON k5."msdyn_projectid" = r."_msdyn_project_value"
LEFT JOIN raw.${source}__transactioncurrency k11 ON k11."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.invoice_line (invoice_line_id, invoice_id, line_no, line_type, source_id, role, quantity, unit_price, amount, tax_code, tax_rate, period_start, period_end, reason_code, approved_by, service_category, applied_to_retainer, source_system, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       k1."cl_externalid",
       r."sequencenumber",
       r."cl_linetype@OData.Community.Display.V1.FormattedValue",
       r."cl_sourceid",
       r."cl_role",
       r."quantity",
       r."priceperunit",
       r."extendedamount",
       r."cl_taxcode",
       r."cl_taxrate",
       r."cl_periodstart",
       r."cl_periodend",
       r."cl_reasoncode",
       r."cl_approvedby",
       r."cl_servicecategory",
       r."cl_appliedtoretainer",
       '${source}',
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__invoicedetail r
LEFT JOIN raw.${source}__invoice k1 ON k1."invoiceid" = r."_cl_invoiceid_value";

INSERT INTO canon.payment (payment_id, invoice_id, client_id, legal_entity_id, amount, currency, received_date, applied_date, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       r."cl_invoiceid",
       k2."accountnumber",
       k3."cdm_companycode",
       r."cl_amount",
       k5."isocurrencycode",
       r."cl_receiveddate",
       r."cl_applieddate",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_payment r
LEFT JOIN raw.${source}__account k2 ON k2."accountid" = r."_cl_clientid_value"
LEFT JOIN raw.${source}__cdm_company k3 ON k3."cdm_companyid" = r."_cl_legalentityid_value"
LEFT JOIN raw.${source}__transactioncurrency k5 ON k5."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.revenue_schedule (rev_line_id, sow_id, project_id, period, method, amount, posted_at, period_locked, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       r."cl_sowid",
       k2."msdyn_projectnumber",
       r."cl_period",
       r."cl_method@OData.Community.Display.V1.FormattedValue",
       r."cl_amount",
       r."cl_postedat",
       r."cl_periodlocked",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_revenueschedule r
LEFT JOIN raw.${source}__msdyn_project k2 ON k2."msdyn_projectid" = r."_msdyn_project_value";

INSERT INTO canon.revenue_contract (sow_id, transaction_price, tp_updated_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_sowid",
       r."cl_transactionprice",
       r."cl_tpupdatedat",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_revenuecontract r;

INSERT INTO canon.period_lock (period, lock_ts, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_period",
       r."cl_lockts",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_periodlock r;

INSERT INTO canon.write_down (write_down_id, project_id, amount, currency, reason_code, requested_by_role, approved_by, created_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       k1."msdyn_projectnumber",
       r."cl_amount",
       k3."isocurrencycode",
       r."cl_reasoncode",
       r."cl_requestedbyrole",
       r."cl_approvedby",
       r."cl_createdat",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_writedown r
LEFT JOIN raw.${source}__msdyn_project k1 ON k1."msdyn_projectid" = r."_msdyn_project_value"
LEFT JOIN raw.${source}__transactioncurrency k3 ON k3."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.collection_action (invoice_id, action_type, action_date, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_invoiceid",
       r."cl_actiontype@OData.Community.Display.V1.FormattedValue",
       r."cl_actiondate",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_collectionaction r;

INSERT INTO canon.dispute (invoice_id, opened, closed, reason_code, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_invoiceid",
       r."cl_opened",
       r."cl_closed",
       r."cl_reasoncode",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_dispute r;

INSERT INTO canon.subcontract (subcontract_id, vendor_id, project_id, sow_id, cap_amount, currency, valid_from, valid_to, status, rebillable, markup_pct, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       r."cl_vendorid",
       k2."msdyn_projectnumber",
       r."cl_sowid",
       r."cl_capamount",
       k5."isocurrencycode",
       r."cl_validfrom",
       r."cl_validto",
       r."cl_status@OData.Community.Display.V1.FormattedValue",
       r."cl_rebillable",
       r."cl_markuppct",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_subcontract r
LEFT JOIN raw.${source}__msdyn_project k2 ON k2."msdyn_projectid" = r."_msdyn_project_value"
LEFT JOIN raw.${source}__transactioncurrency k5 ON k5."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.vendor_bill (vendor_bill_id, vendor_id, project_id, subcontract_id, bill_date, amount, currency, rebillable, invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       r."cl_vendorid",
       k2."msdyn_projectnumber",
       r."cl_subcontractid",
       r."cl_billdate",
       r."cl_amount",
       k6."isocurrencycode",
       r."cl_rebillable",
       r."cl_invoicelineid",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_vendorbill r
LEFT JOIN raw.${source}__msdyn_project k2 ON k2."msdyn_projectid" = r."_msdyn_project_value"
LEFT JOIN raw.${source}__transactioncurrency k6 ON k6."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date, accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       r."cl_sowid",
       k2."msdyn_projectnumber",
       r."cl_name",
       r."cl_amount",
       r."cl_duedate",
       r."cl_status@OData.Community.Display.V1.FormattedValue",
       r."cl_completeddate",
       r."cl_accepteddate",
       r."cl_billingtrigger@OData.Community.Display.V1.FormattedValue",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__cl_milestone r
LEFT JOIN raw.${source}__msdyn_project k2 ON k2."msdyn_projectid" = r."_msdyn_project_value";
