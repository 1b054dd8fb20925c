-- Salesforce -> canon. Accounts are the client master (ERP-owned client fields are merged in resolve.sql),
-- opportunities the pipeline, the invoice-status object what the CRM shows of ERP invoices.
-- Custom API names are dollar-brace placeholders filled from [sources.<key>] (see collectors/salesforce/streams.py).

INSERT INTO canon.client (client_id, crm_account_id, erp_customer_id, name, country, region,
                          source_system, source_id, snapshot_ts, correlation_id)
SELECT "Id", "Id", "${erp_customer_field}", "Name", "BillingCountry", "${region_field}",
       '${source}', "Id", _extracted_at, "${correlation_field}"
FROM raw.${source}__account
WHERE NOT coalesce("IsDeleted", false);

INSERT INTO canon.opportunity (opportunity_id, client_id, legal_entity_id, name, stage, is_won, created_at,
                               close_date, amount, currency, deal_type, parent_sow_id, owner_id,
                               source_system, source_id, snapshot_ts, correlation_id)
SELECT "Id", "AccountId", "${legal_entity_field}", "Name", "StageName", "IsWon", "CreatedDate",
       "CloseDate", "Amount", "CurrencyIsoCode", "Type", "${parent_sow_field}", "OwnerId",
       '${source}', "Id", _extracted_at, "${correlation_field}"
FROM raw.${source}__opportunity
WHERE NOT coalesce("IsDeleted", false);

INSERT INTO canon.crm_invoice_status (crm_record_id, erp_invoice_no, crm_account_id, opportunity_id, amount,
                                      currency, status, paid_amount, due_date, last_synced_at,
                                      source_system, source_id, snapshot_ts, correlation_id)
SELECT "Id", "${inv_number_field}", "${inv_account_field}", "${inv_opportunity_field}", "${inv_amount_field}",
       "CurrencyIsoCode", "${inv_status_field}", "${inv_paid_field}", "${inv_due_date_field}",
       "${inv_synced_field}", '${source}', "Id", _extracted_at, "${correlation_field}"
FROM raw.${source}__invoice_status
WHERE NOT coalesce("IsDeleted", false);
