-- Dynamics 365 Sales -> canon (generated from collectors/dynamics_sales/entities.py by
-- `python -m collectors.dynamics_sales`; a test keeps the two equal). Each Dataverse table fills one canonical
-- table column for column: its key attribute is the canonical id, each lookup (_x_value, the referenced row's
-- GUID) is resolved to the referenced row's key, option sets arrive as their labels (value-mapped in canon).

INSERT INTO canon.client (client_id, crm_account_id, erp_customer_id, name, country, region, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."accountnumber",
       r."cl_crmaccountid",
       r."cl_erpcustomerid",
       r."name",
       r."address1_country",
       r."cl_region",
       '${source}',
       r."accountnumber",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__account r;

INSERT INTO canon.opportunity (opportunity_id, client_id, legal_entity_id, name, stage, is_won, created_at, close_date, amount, currency, deal_type, parent_sow_id, owner_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_opportunitynumber",
       k1."accountnumber",
       r."cl_contractingentity",
       r."name",
       r."stepname",
       r."cl_iswon",
       r."createdon",
       r."estimatedclosedate",
       r."estimatedvalue",
       k9."isocurrencycode",
       r."opportunitytypecode@OData.Community.Display.V1.FormattedValue",
       r."cl_parentsowid",
       r."cl_ownerid",
       '${source}',
       r."cl_opportunitynumber",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__opportunity r
LEFT JOIN raw.${source}__account k1 ON k1."accountid" = r."_parentaccountid_value"
LEFT JOIN raw.${source}__transactioncurrency k9 ON k9."transactioncurrencyid" = r."_transactioncurrencyid_value";

INSERT INTO canon.crm_invoice_status (crm_record_id, erp_invoice_no, crm_account_id, opportunity_id, amount, currency, status, paid_amount, due_date, last_synced_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT r."cl_externalid",
       r."invoicenumber",
       k2."accountnumber",
       k3."cl_opportunitynumber",
       r."totalamount",
       k5."isocurrencycode",
       r."statuscode@OData.Community.Display.V1.FormattedValue",
       r."cl_paidamount",
       r."duedate",
       r."cl_lastsyncedon",
       '${source}',
       r."cl_externalid",
       r._extracted_at,
       r."${correlation_field}"
FROM raw.${source}__invoice r
LEFT JOIN raw.${source}__account k2 ON k2."accountid" = r."_customerid_value"
LEFT JOIN raw.${source}__opportunity k3 ON k3."opportunityid" = r."_opportunityid_value"
LEFT JOIN raw.${source}__transactioncurrency k5 ON k5."transactioncurrencyid" = r."_transactioncurrencyid_value";
