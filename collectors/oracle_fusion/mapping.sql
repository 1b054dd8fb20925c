-- Oracle Fusion Cloud ERP / PPM -> canon. The ERP owns legal entities, financial masters, projects, invoices and
-- revenue, as collectors/netsuite/mapping.sql fills them, table for table. Standard attributes keep Oracle's names;
-- what Oracle has no standard attribute for is a descriptive flexfield segment whose name comes from
-- [sources.<key>.flexfields] (dollar-brace placeholders, keyed by the default segment name). Payment terms are
-- named terms ('Net 30'): their day count is read from the name. Customer accounts land in canon.client as
-- ERP-side rows that resolve.sql merges into the CRM's accounts (OrigSystemReference holds the CRM account id).

INSERT INTO canon.legal_entity (legal_entity_id, name, country, functional_ccy, tax_registration,
                                source_system, source_id, snapshot_ts, correlation_id)
SELECT LegalEntityId, Name, CountryCode, FunctionalCurrencyCode, RegistrationNumber, '${source}', LegalEntityId,
       _extracted_at, "${correlation_field}"
FROM raw.${source}__legalEntities;

INSERT INTO canon.client (client_id, crm_account_id, erp_customer_id, name, country, region, tax_jurisdiction,
                          tax_id, tax_exempt, bill_to_country, payment_terms_days, po_required,
                          source_system, source_id, snapshot_ts, correlation_id)
SELECT CustomerAccountId, OrigSystemReference, CustomerAccountId, OrganizationName, CountryCode, "${region}",
       "${taxJurisdiction}", TaxRegistrationNumber, TaxExemptFlag, "${billToCountry}",
       TRY_CAST(regexp_extract(PaymentTerms, '(\d+)', 1) AS INTEGER), "${poRequired}", '${source}',
       CustomerAccountId, _extracted_at, "${correlation_field}"
FROM raw.${source}__customerAccounts;

INSERT INTO canon.resource (resource_id, name, legal_entity_id, role, practice, region, cost_rate,
                            source_system, source_id, snapshot_ts)
SELECT ResourceId, ResourceName, LegalEntityId, JobName, OrganizationName, "${region}", CostRate, '${source}',
       ResourceId, _extracted_at
FROM raw.${source}__laborResources;

INSERT INTO canon.project (project_id, sow_id, client_id, legal_entity_id, name, billing_type, currency, start_date,
                           end_date, budget_amount, budget_hours, budget_updated_at, budget_subcontract_cost, status,
                           created_at, closed_date, pm_id, practice, region, project_role, po_number,
                           payment_terms_days, source_system, source_id, snapshot_ts, correlation_id)
SELECT ProjectId, "${sowId}", CustomerAccountId, LegalEntityId, ProjectName, ProjectTypeName, ProjectCurrencyCode,
       ProjectStartDate, ProjectFinishDate, "${budgetAmount}", "${budgetHours}", "${budgetUpdatedAt}",
       "${budgetSubcontractCost}", ProjectStatus, CreationDate, "${closedDate}", ProjectManagerResourceId,
       OwningOrganizationName, "${region}", "${projectRole}", "${poNumber}",
       TRY_CAST(regexp_extract(PaymentTerms, '(\d+)', 1) AS INTEGER), '${source}', ProjectId, _extracted_at,
       "${correlation_field}"
FROM raw.${source}__projects;

INSERT INTO canon.task (task_id, project_id, wbs_code, name, billable, milestone_id,
                        source_system, source_id, snapshot_ts, correlation_id)
SELECT TaskId, ProjectId, TaskNumber, TaskName, BillableFlag, "${milestoneId}", '${source}', TaskId, _extracted_at,
       "${correlation_field}"
FROM raw.${source}__projectTasks;

INSERT INTO canon.assignment (project_id, resource_id, role, start_date, end_date,
                              source_system, source_id, snapshot_ts, correlation_id)
SELECT ProjectId, ResourceId, ProjectRoleName, AssignmentStartDate, AssignmentEndDate, '${source}', AssignmentId,
       _extracted_at, "${correlation_field}"
FROM raw.${source}__resourceAssignments;

INSERT INTO canon.billing_rule (project_id, rule_type, cap, cap_hours, source_system, source_id, snapshot_ts,
                                correlation_id)
SELECT ProjectId, BillMethodName, HardLimitAmount, "${capHours}", '${source}', BillPlanId, _extracted_at,
       "${correlation_field}"
FROM raw.${source}__billPlans;

-- Billing events are the schedule: one event per planned billing, completed on its bill date.
INSERT INTO canon.billing_schedule (schedule_line_id, project_id, sow_id, bill_date, amount, currency, milestone_id,
                                    line_type, updated_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT EventId, ProjectId, ContractNumber, CompletionDate, BillTransactionAmount, BillTransactionCurrencyCode,
       "${milestoneId}", EventTypeName, "${eventUpdatedAt}", '${source}', EventId, _extracted_at,
       "${correlation_field}"
FROM raw.${source}__billingEvents;

INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date,
                             accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT MilestoneId, ContractNumber, ProjectId, MilestoneName, Amount, DueDate, MilestoneStatus, CompletionDate,
       "${acceptedDate}", "${billingTrigger}", '${source}', MilestoneId, _extracted_at, "${correlation_field}"
FROM raw.${source}__milestones;

INSERT INTO canon.time_entry (time_entry_id, project_id, task_id, resource_id, resource_legal_entity_id, role,
                              work_date, hours, billable, approval_status, submitted_at, approved_at, cost_rate,
                              invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT ExpenditureItemId, ProjectId, TaskId, PersonId, ProviderLegalEntityId, ProjectRoleName, ExpenditureItemDate,
       CAST(Quantity AS DECIMAL(9,2)), BillableFlag, ApprovalStatus, "${submittedAt}", "${approvedAt}", RawCostRate,
       "${invoiceLineId}", '${source}', ExpenditureItemId, _extracted_at, "${correlation_field}"
FROM raw.${source}__expenditureItems
WHERE ExpenditureTypeClass = 'Straight Time';

INSERT INTO canon.expense (expense_id, project_id, resource_id, expense_date, category, amount, currency, billable,
                           approval_status, approved_at, invoice_line_id, source_system, source_id, snapshot_ts,
                           correlation_id)
SELECT ExpenditureItemId, ProjectId, PersonId, ExpenditureItemDate, ExpenditureCategoryName, TransactionAmount,
       TransactionCurrencyCode, BillableFlag, ApprovalStatus, "${approvedAt}", "${invoiceLineId}", '${source}',
       ExpenditureItemId, _extracted_at, "${correlation_field}"
FROM raw.${source}__expenditureItems
WHERE ExpenditureTypeClass = 'Expense Reports';

-- Fusion states what is still owed (the balance); what was paid is the total less that.
INSERT INTO canon.invoice (invoice_id, erp_invoice_no, client_id, legal_entity_id, sow_id, project_id, type, status,
                           invoice_date, posted_at, due_date, currency, amount_net, tax_amount, amount_gross,
                           amount_paid, payment_terms_days, po_number, source_ref, credit_reason_code,
                           source_system, source_id, snapshot_ts, correlation_id)
SELECT CustomerTransactionId, TransactionNumber, BillToCustomerAccountId, LegalEntityId, "${sowId}", "${projectId}",
       'invoice', InvoiceStatus, TransactionDate, "${postedAt}", DueDate, InvoiceCurrencyCode, LinesAmount, TaxAmount,
       EnteredAmount, EnteredAmount - InvoiceBalanceAmount,
       TRY_CAST(regexp_extract(PaymentTerms, '(\d+)', 1) AS INTEGER), PurchaseOrder, CrossReference,
       "${creditReasonCode}", '${source}', CustomerTransactionId, _extracted_at, "${correlation_field}"
FROM raw.${source}__receivablesInvoices
UNION ALL
SELECT CustomerTransactionId, TransactionNumber, BillToCustomerAccountId, LegalEntityId, "${sowId}", "${projectId}",
       'credit_note', CreditMemoStatus, TransactionDate, "${postedAt}", DueDate, CreditMemoCurrencyCode, LinesAmount,
       TaxAmount, EnteredAmount, EnteredAmount - CreditMemoBalanceAmount,
       TRY_CAST(regexp_extract(PaymentTerms, '(\d+)', 1) AS INTEGER), PurchaseOrder, CrossReference,
       "${creditReasonCode}", '${source}', CustomerTransactionId, _extracted_at, "${correlation_field}"
FROM raw.${source}__receivablesCreditMemos;

INSERT INTO canon.invoice_line (invoice_line_id, invoice_id, line_no, line_type, source_id, role, quantity,
                                unit_price, amount, tax_code, tax_rate, period_start, period_end, reason_code,
                                approved_by, service_category, applied_to_retainer, source_system, snapshot_ts,
                                correlation_id)
SELECT CustomerTransactionLineId, CustomerTransactionId, CAST(LineNumber AS INTEGER), "${lineType}", "${sourceId}",
       "${role}", CAST(Quantity AS DECIMAL(12,2)), UnitSellingPrice, LineAmount, TaxClassificationCode, "${taxRate}",
       RuleStartDate, RuleEndDate, "${reasonCode}", "${approvedBy}", MemoLineName, "${appliedToRetainer}",
       '${source}', _extracted_at, "${correlation_field}"
FROM raw.${source}__receivablesInvoiceLines
UNION ALL
SELECT CustomerTransactionLineId, CustomerTransactionId, CAST(LineNumber AS INTEGER), "${lineType}", "${sourceId}",
       "${role}", CAST(Quantity AS DECIMAL(12,2)), UnitSellingPrice, LineAmount, TaxClassificationCode, "${taxRate}",
       RuleStartDate, RuleEndDate, "${reasonCode}", "${approvedBy}", MemoLineName, "${appliedToRetainer}",
       '${source}', _extracted_at, "${correlation_field}"
FROM raw.${source}__receivablesCreditMemoLines;

INSERT INTO canon.payment (payment_id, invoice_id, client_id, legal_entity_id, amount, currency, received_date,
                           applied_date, source_system, source_id, snapshot_ts, correlation_id)
SELECT StandardReceiptId, "${appliedInvoiceId}", CustomerAccountId, LegalEntityId, Amount, Currency, ReceiptDate,
       "${appliedDate}", '${source}', StandardReceiptId, _extracted_at, "${correlation_field}"
FROM raw.${source}__standardReceipts;

INSERT INTO canon.subcontract (subcontract_id, vendor_id, project_id, sow_id, cap_amount, currency, valid_from,
                               valid_to, status, rebillable, markup_pct, source_system, source_id, snapshot_ts,
                               correlation_id)
SELECT POHeaderId, SupplierId, ProjectId, "${sowId}", Ordered, CurrencyCode, StartDate, EndDate, Status,
       "${rebillable}", "${markupPct}", '${source}', POHeaderId, _extracted_at, "${correlation_field}"
FROM raw.${source}__purchaseOrders;

INSERT INTO canon.vendor_bill (vendor_bill_id, vendor_id, project_id, subcontract_id, bill_date, amount, currency,
                               rebillable, invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT InvoiceId, SupplierId, ProjectId, PurchaseOrderId, InvoiceDate, InvoiceAmount, InvoiceCurrency,
       "${rebillable}", "${invoiceLineId}", '${source}', InvoiceId, _extracted_at, "${correlation_field}"
FROM raw.${source}__payablesInvoices;

INSERT INTO canon.revenue_contract (sow_id, transaction_price, tp_updated_at, source_system, source_id, snapshot_ts,
                                    correlation_id)
SELECT ContractNumber, TransactionPrice, "${tpUpdatedAt}", '${source}', ContractId, _extracted_at,
       "${correlation_field}"
FROM raw.${source}__revenueContracts;

INSERT INTO canon.revenue_schedule (rev_line_id, sow_id, project_id, period, method, amount, posted_at,
                                    period_locked, source_system, source_id, snapshot_ts, correlation_id)
SELECT RevenueDistributionId, ContractNumber, ProjectId, PeriodStartDate, RevenueMethod, RevenueAmount,
       "${postedToGlAt}", "${periodLocked}", '${source}', RevenueDistributionId, _extracted_at, "${correlation_field}"
FROM raw.${source}__revenueDistributions;

-- A closed GL period ('C') is locked from its closing time on.
INSERT INTO canon.period_lock (period, lock_ts, source_system, source_id, snapshot_ts, correlation_id)
SELECT StartDate, ClosedDate, '${source}', PeriodId, _extracted_at, NULL
FROM raw.${source}__accountingPeriods
WHERE ClosingStatus = 'C';

INSERT INTO canon.write_down (write_down_id, project_id, amount, currency, reason_code, requested_by_role,
                              approved_by, created_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT WriteDownId, ProjectId, Amount, CurrencyCode, ReasonCode, "${requestedByRole}", ApprovedBy, CreationDate,
       '${source}', WriteDownId, _extracted_at, "${correlation_field}"
FROM raw.${source}__writeDowns;

INSERT INTO canon.collection_action (invoice_id, action_type, action_date, source_system, source_id, snapshot_ts,
                                     correlation_id)
SELECT CustomerTransactionId, ActionType, ActionDate, '${source}', ActionId, _extracted_at, "${correlation_field}"
FROM raw.${source}__collectionActions;

INSERT INTO canon.dispute (invoice_id, opened, closed, reason_code, source_system, source_id, snapshot_ts,
                           correlation_id)
SELECT CustomerTransactionId, DisputeDate, ResolvedDate, DisputeReason, '${source}', DisputeId, _extracted_at,
       "${correlation_field}"
FROM raw.${source}__disputes;
