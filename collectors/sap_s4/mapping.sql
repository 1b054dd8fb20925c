-- SAP S/4HANA Cloud -> canon, in the ERP role (the same tables, with the same meaning, as the NetSuite mapping).
-- Raw values arrive as text the runner cast (v2 /Date(ms)/ already ISO, decimals from strings). Field names are
-- dollar-brace placeholders keyed by their default name (collectors/sap_s4/streams.py; [sources.<key>] fields).
-- Customers land in canon.client as ERP-side rows: resolve.sql merges them into the CRM account rows.

-- A payment terms key (NT30) as its days net.
CREATE OR REPLACE TEMP MACRO sap_s4_terms_days(k) AS TRY_CAST(regexp_extract(k, '(\d+)$', 1) AS INTEGER);

INSERT INTO canon.legal_entity (legal_entity_id, name, country, functional_ccy, tax_registration,
                                source_system, source_id, snapshot_ts, correlation_id)
SELECT "${CompanyCode}", "${CompanyCodeName}", "${Country}", "${Currency}", "${VATRegistration}", '${source}',
       "${CompanyCode}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__company_code;

INSERT INTO canon.client (client_id, crm_account_id, erp_customer_id, name, country, region, tax_jurisdiction,
                          tax_id, tax_exempt, bill_to_country, payment_terms_days, po_required,
                          source_system, source_id, snapshot_ts, correlation_id)
SELECT "${Customer}", "${YY1_CRMAccountID}", "${Customer}", "${CustomerName}", "${Country}", "${YY1_Region}",
       "${TaxJurisdiction}", "${VATRegistration}", "${YY1_TaxExempt}", "${YY1_BillToCountry}",
       sap_s4_terms_days("${PaymentTerms}"), "${YY1_PORequired}", '${source}', "${Customer}", _extracted_at,
       "${YY1_CorrelationID}"
FROM raw.${source}__customer;

INSERT INTO canon.resource (resource_id, name, legal_entity_id, role, practice, region, cost_rate,
                            source_system, source_id, snapshot_ts)
SELECT "${PersonWorkAgreement}", "${PersonFullName}", "${CompanyCode}", "${JobName}", "${YY1_Practice}",
       "${YY1_Region}", "${YY1_CostRate}", '${source}', "${PersonWorkAgreement}", _extracted_at
FROM raw.${source}__workforce;

INSERT INTO canon.project (project_id, sow_id, client_id, legal_entity_id, name, billing_type, currency, start_date,
                           end_date, budget_amount, budget_hours, budget_updated_at, budget_subcontract_cost, status,
                           created_at, closed_date, pm_id, practice, region, project_role, po_number,
                           payment_terms_days, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${Project}", "${YY1_SOWID}", "${YY1_Customer}", "${CompanyCode}", "${ProjectDescription}",
       "${YY1_BillingType}", "${ProjectCurrency}", "${ProjectStartDate}", "${ProjectEndDate}", "${YY1_BudgetAmount}",
       "${YY1_BudgetHours}", "${YY1_BudgetUpdatedAt}", "${YY1_BudgetSubcontract}", "${ProcessingStatus}",
       "${CreationDateTime}", "${ActualEndDate}", "${YY1_ProjectManager}", "${YY1_Practice}", "${YY1_Region}",
       "${YY1_ProjectRole}", "${YY1_CustomerPO}", sap_s4_terms_days("${PaymentTerms}"), '${source}', "${Project}",
       _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__project;

INSERT INTO canon.task (task_id, project_id, wbs_code, name, billable, milestone_id,
                        source_system, source_id, snapshot_ts, correlation_id)
SELECT "${ProjectElement}", "${Project}", "${YY1_WBSCode}", "${ProjectElementDescription}",
       "${WBSElementIsBillingElement}", "${YY1_MilestoneID}", '${source}', "${ProjectElement}", _extracted_at,
       "${YY1_CorrelationID}"
FROM raw.${source}__project_element;

INSERT INTO canon.assignment (project_id, resource_id, role, start_date, end_date,
                              source_system, source_id, snapshot_ts, correlation_id)
SELECT "${Project}", "${BusinessPartner}", "${YY1_Role}", "${YY1_StartDate}", "${YY1_EndDate}", '${source}',
       "${TeamMember}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__team_member;

INSERT INTO canon.billing_rule (project_id, rule_type, cap, cap_hours, source_system, source_id, snapshot_ts,
                                correlation_id)
SELECT "${CustomerProject}", "${YY1_BillingRuleType}", "${YY1_CapAmount}", "${YY1_CapHours}", '${source}',
       "${CustProjSlsOrdItem}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__sales_order_item;

INSERT INTO canon.billing_schedule (schedule_line_id, project_id, sow_id, bill_date, amount, currency, milestone_id,
                                    line_type, updated_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${BillingPlanItem}", "${CustomerProject}", "${YY1_SOWID}", "${BillingPlanBillingDate}",
       "${BillingPlanAmount}", "${TransactionCurrency}", "${YY1_MilestoneID}", "${YY1_LineType}",
       "${LastChangeDateTime}", '${source}', "${BillingPlanItem}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__billing_plan_item;

INSERT INTO canon.time_entry (time_entry_id, project_id, task_id, resource_id, resource_legal_entity_id, role,
                              work_date, hours, billable, approval_status, submitted_at, approved_at, cost_rate,
                              invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${TimeSheetRecord}", "${YY1_Project}", "${WBSElement}", "${PersonWorkAgreementExternalID}",
       "${CompanyCode}", "${YY1_Role}", "${TimeSheetDate}", CAST("${RecordedHours}" AS DECIMAL(9,2)),
       "${YY1_Billable}", "${TimeSheetStatus}", "${YY1_SubmittedAt}", "${YY1_ApprovedAt}", "${YY1_CostRate}",
       "${YY1_BillingDocumentItem}", '${source}', "${TimeSheetRecord}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__timesheet;

INSERT INTO canon.expense (expense_id, project_id, resource_id, expense_date, category, amount, currency, billable,
                           approval_status, approved_at, invoice_line_id, source_system, source_id, snapshot_ts,
                           correlation_id)
SELECT "${ExpenseItem}", "${Project}", "${PersonWorkAgreement}", "${ExpenseDate}", "${ExpenseType}", "${Amount}",
       "${Currency}", "${IsBillable}", "${ApprovalStatus}", "${ApprovedAt}", "${BillingDocumentItem}", '${source}',
       "${ExpenseItem}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__expense;

-- A billing document's state from SAP's own fields: cancelled, not yet posted to accounting (draft), cleared
-- (paid), partly cleared, else posted. A document with no posting status has no state.
INSERT INTO canon.invoice (invoice_id, erp_invoice_no, client_id, legal_entity_id, sow_id, project_id, type, status,
                           invoice_date, posted_at, due_date, currency, amount_net, tax_amount, amount_gross,
                           amount_paid, payment_terms_days, po_number, source_ref, credit_reason_code,
                           source_system, source_id, snapshot_ts, correlation_id)
SELECT "${BillingDocument}", "${DocumentReferenceID}", "${SoldToParty}", "${CompanyCode}", "${YY1_SOWID}",
       "${YY1_Project}", CASE "${BillingDocumentType}" WHEN 'G2' THEN 'credit_note' ELSE 'invoice' END,
       CASE WHEN "${BillingDocumentIsCancelled}" THEN 'cancelled'
            WHEN "${AccountingPostingStatus}" = 'A' THEN 'draft'
            WHEN "${InvoiceClearingStatus}" = 'C' THEN 'paid'
            WHEN "${InvoiceClearingStatus}" = 'B' THEN 'partially_paid'
            WHEN "${AccountingPostingStatus}" = 'C' THEN 'posted'
            ELSE "${AccountingPostingStatus}" END,
       "${BillingDocumentDate}", "${YY1_PostedAt}", "${YY1_NetDueDate}", "${TransactionCurrency}",
       "${TotalNetAmount}", "${TaxAmount}", "${TotalGrossAmount}", "${YY1_AmountCleared}",
       sap_s4_terms_days("${CustomerPaymentTerms}"), "${PurchaseOrderByCustomer}", "${YY1_CreditedBillingDoc}",
       "${SDDocumentReason}", '${source}', "${BillingDocument}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__billing_document
WHERE "${BillingDocumentType}" IN ('F2', 'G2');

INSERT INTO canon.invoice_line (invoice_line_id, invoice_id, line_no, line_type, source_id, role, quantity,
                                unit_price, amount, tax_code, tax_rate, period_start, period_end, reason_code,
                                approved_by, service_category, applied_to_retainer, source_system, snapshot_ts,
                                correlation_id)
SELECT "${BillingDocumentItem}", "${BillingDocument}", CAST("${YY1_LineNo}" AS INTEGER), "${YY1_LineType}",
       "${YY1_SourceID}", "${YY1_Role}", CAST("${BillingQuantity}" AS DECIMAL(12,2)), "${YY1_UnitPrice}",
       "${NetAmount}", "${TaxCode}", "${YY1_TaxRate}", "${YY1_PeriodStart}", "${YY1_PeriodEnd}", "${YY1_ReasonCode}",
       "${YY1_ApprovedBy}", "${YY1_ServiceCategory}", "${YY1_AppliedToRetainer}", '${source}', _extracted_at,
       "${YY1_CorrelationID}"
FROM raw.${source}__billing_document_item;

-- Incoming payments (document type DZ) from the receivables items, with the invoice each clears.
INSERT INTO canon.payment (payment_id, invoice_id, client_id, legal_entity_id, amount, currency, received_date,
                           applied_date, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${AccountingDocument}", "${InvoiceReference}", "${Customer}", "${CompanyCode}",
       "${AmountInTransactionCurrency}", "${TransactionCurrency}", "${PostingDate}", "${ClearingDate}", '${source}',
       "${AccountingDocument}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__payment
WHERE coalesce("${AccountingDocumentType}", 'DZ') = 'DZ';

INSERT INTO canon.subcontract (subcontract_id, vendor_id, project_id, sow_id, cap_amount, currency, valid_from,
                               valid_to, status, rebillable, markup_pct, source_system, source_id, snapshot_ts,
                               correlation_id)
SELECT "${PurchaseOrder}", "${Supplier}", "${YY1_Project}", "${YY1_SOWID}", "${YY1_CapAmount}",
       "${DocumentCurrency}", "${ValidityStartDate}", "${ValidityEndDate}", "${YY1_AgreementStatus}",
       "${YY1_Rebillable}", "${YY1_MarkupPct}", '${source}', "${PurchaseOrder}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__purchase_order;

INSERT INTO canon.vendor_bill (vendor_bill_id, vendor_id, project_id, subcontract_id, bill_date, amount, currency,
                               rebillable, invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${SupplierInvoice}", "${InvoicingParty}", "${YY1_Project}", "${YY1_PurchaseOrder}", "${DocumentDate}",
       "${InvoiceGrossAmount}", "${DocumentCurrency}", "${YY1_Rebillable}", "${YY1_BillingDocumentItem}", '${source}',
       "${SupplierInvoice}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__supplier_invoice;

INSERT INTO canon.revenue_contract (sow_id, transaction_price, tp_updated_at, source_system, source_id, snapshot_ts,
                                    correlation_id)
SELECT "${SOWID}", "${TransactionPrice}", "${PriceChangedAt}", '${source}', "${RevenueContract}", _extracted_at,
       "${YY1_CorrelationID}"
FROM raw.${source}__revenue_contract;

INSERT INTO canon.revenue_schedule (rev_line_id, sow_id, project_id, period, method, amount, posted_at,
                                    period_locked, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${RevenuePostingLine}", "${SOWID}", "${Project}", "${FiscalPeriodStartDate}", "${RecognitionMethod}",
       "${Amount}", "${PostedAt}", "${PeriodIsLocked}", '${source}', "${RevenuePostingLine}", _extracted_at,
       "${YY1_CorrelationID}"
FROM raw.${source}__revenue_posting;

INSERT INTO canon.period_lock (period, lock_ts, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${FiscalPeriodStartDate}", "${LockedAt}", '${source}', "${PostingPeriod}", _extracted_at, NULL
FROM raw.${source}__posting_period;

INSERT INTO canon.write_down (write_down_id, project_id, amount, currency, reason_code, requested_by_role,
                              approved_by, created_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${WriteDown}", "${Project}", "${Amount}", "${Currency}", "${ReasonCode}", "${RequestedByRole}",
       "${ApprovedBy}", "${CreatedAt}", '${source}', "${WriteDown}", _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__write_down;

INSERT INTO canon.collection_action (invoice_id, action_type, action_date, source_system, source_id, snapshot_ts,
                                     correlation_id)
SELECT "${BillingDocument}", "${ActionType}", "${ActionDate}", '${source}', "${CollectionAction}", _extracted_at,
       "${YY1_CorrelationID}"
FROM raw.${source}__collection_action;

INSERT INTO canon.dispute (invoice_id, opened, closed, reason_code, source_system, source_id, snapshot_ts,
                           correlation_id)
SELECT "${BillingDocument}", "${OpenedOn}", "${ClosedOn}", "${ReasonCode}", '${source}', "${DisputeCase}",
       _extracted_at, "${YY1_CorrelationID}"
FROM raw.${source}__dispute;

INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date,
                             accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT "${Milestone}", "${SOWID}", "${Project}", "${MilestoneName}", "${Amount}", "${DueDate}", "${MilestoneStatus}",
       "${CompletedOn}", "${AcceptedOn}", "${BillingTrigger}", '${source}', "${Milestone}", _extracted_at,
       "${YY1_CorrelationID}"
FROM raw.${source}__milestone;

DROP MACRO IF EXISTS sap_s4_terms_days;
