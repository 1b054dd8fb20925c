-- NetSuite -> canon. The ERP owns legal entities, financial masters, projects, invoices and revenue.
-- Raw values were cast by the runner (SuiteQL strings, T/F, M/D/YYYY), currency and terms columns hold
-- record ids, resolved here through the currency and term tables. Customers land in canon.client as
-- ERP-side rows: resolve.sql merges them into the CRM account rows and maps customer ids to client ids.
-- Custom field and record names are dollar-brace placeholders from [sources.<key>] (collectors/netsuite/streams.py).
-- Projects are keyed by project_key (internal id or entity id); each stream's project reference carries one of
-- the two (project_links) and goes through project_from_<stream>: nothing, or a macro translating it to the key
-- (collectors/netsuite/keys.py). The guards stop the mapping when a stream's references match only the other.
${project_guards}
CREATE OR REPLACE TEMP MACRO netsuite_project_from_id(ref) AS
    coalesce((SELECT min(${project_key}) FROM raw.${source}__job WHERE id = ref), ref);
CREATE OR REPLACE TEMP MACRO netsuite_project_from_entityid(ref) AS
    coalesce((SELECT min(${project_key}) FROM raw.${source}__job WHERE entityid = ref), ref);

INSERT INTO canon.legal_entity (legal_entity_id, name, country, functional_ccy, tax_registration,
                                source_system, source_id, snapshot_ts, correlation_id)
SELECT s.id, s.name, s.country, cur.symbol, s.federalidnumber, '${source}', s.id, s._extracted_at,
       s."${correlation_record_field}"
FROM raw.${source}__subsidiary s
LEFT JOIN raw.${source}__currency cur ON cur.id = s.currency;

INSERT INTO canon.client (client_id, crm_account_id, erp_customer_id, name, country, region, tax_jurisdiction,
                          tax_id, tax_exempt, bill_to_country, payment_terms_days, po_required,
                          source_system, source_id, snapshot_ts, correlation_id)
SELECT c.id, c.externalid, c.id, c.companyname, c."${custentity_country}", c."${custentity_region}",
       c."${custentity_tax_jurisdiction}", c.vatregnumber, NOT c.taxable, c."${custentity_bill_country}",
       CAST(t.daysuntilnetdue AS INTEGER), c."${custentity_po_required}", '${source}', c.id, c._extracted_at,
       c."${correlation_entity_field}"
FROM raw.${source}__customer c
LEFT JOIN raw.${source}__term t ON t.id = c.terms;

INSERT INTO canon.resource (resource_id, name, legal_entity_id, role, practice, region, cost_rate,
                            source_system, source_id, snapshot_ts)
SELECT e.id, e.entityid, e.subsidiary, e.title, e."${custentity_practice}", e."${custentity_region}", e.laborcost,
       '${source}', e.id, e._extracted_at
FROM raw.${source}__employee e;

INSERT INTO canon.project (project_id, sow_id, client_id, legal_entity_id, name, billing_type, currency, start_date,
                           end_date, budget_amount, budget_hours, budget_updated_at, budget_subcontract_cost, status,
                           created_at, closed_date, pm_id, practice, region, project_role, po_number,
                           payment_terms_days, source_system, source_id, snapshot_ts, correlation_id)
SELECT j.${project_key}, j."${custentity_sow_id}", j.parent, j.subsidiary, j.companyname, j.jobbillingtype, cur.symbol,
       j.startdate, j.projectedenddate, j."${custentity_budget_amount}", j."${custentity_budget_hours}",
       j."${custentity_budget_updated}", j."${custentity_budget_subcontract}", j.entitystatus, j.datecreated,
       j."${custentity_closed_date}", j.projectmanager, j."${custentity_practice}", j."${custentity_region}",
       j."${custentity_project_role}", j."${custentity_po_number}", CAST(t.daysuntilnetdue AS INTEGER),
       '${source}', j.id, j._extracted_at, j."${correlation_entity_field}"
FROM raw.${source}__job j
LEFT JOIN raw.${source}__currency cur ON cur.id = j.currency
LEFT JOIN raw.${source}__term t ON t.id = j.terms;

INSERT INTO canon.task (task_id, project_id, wbs_code, name, billable, milestone_id,
                        source_system, source_id, snapshot_ts, correlation_id)
SELECT id, ${project_from_projecttask}(r.project), "${custevent_wbs_code}", title, NOT nonbillabletask,
       "${custevent_milestone_id}", '${source}', id, _extracted_at, "${correlation_event_field}"
FROM raw.${source}__projecttask r;

INSERT INTO canon.assignment (project_id, resource_id, role, start_date, end_date,
                              source_system, source_id, snapshot_ts, correlation_id)
SELECT ${project_from_resourceallocation}(r.project), allocationresource, "${custevent_role}", startdate, enddate,
       '${source}', id, _extracted_at, "${correlation_event_field}"
FROM raw.${source}__resourceallocation r;

INSERT INTO canon.billing_rule (project_id, rule_type, cap, cap_hours, source_system, source_id, snapshot_ts,
                                correlation_id)
SELECT ${project_from_chargerule}(r.project), ruletype, "${custrecord_cap}", "${custrecord_cap_hours}", '${source}', id,
       _extracted_at, "${correlation_record_field}"
FROM raw.${source}__chargerule r;

-- when billing_schedules = 'billing_schedule'
INSERT INTO canon.billing_schedule (schedule_line_id, project_id, sow_id, bill_date, amount, currency, milestone_id,
                                    line_type, updated_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT l.id, ${project_from_billingschedule}(h.project), h."${custrecord_sow_id}", l.billdate, l.amount, cur.symbol, l."${custrecord_milestone_id}",
       l."${custrecord_line_type}", l.lastmodifieddate, '${source}', l.id, l._extracted_at,
       l."${correlation_record_field}"
FROM raw.${source}__billingschedule_line l
LEFT JOIN raw.${source}__billingschedule h ON h.id = l.billingschedule
LEFT JOIN raw.${source}__currency cur ON cur.id = h.currency;

-- when billing_schedules = 'charges'
-- SuiteBilling: each charge is one schedule line, its SOW the project's; a non-billable charge bills nothing.
INSERT INTO canon.billing_schedule (schedule_line_id, project_id, sow_id, bill_date, amount, currency, milestone_id,
                                    line_type, updated_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT c.id, ${project_from_charge}(c.project), j."${custentity_sow_id}", c.chargedate, c.amount, cur.symbol,
       c."${custrecord_milestone_id}", c.chargetype, c.lastmodifieddate, '${source}', c.id, c._extracted_at,
       c."${correlation_record_field}"
FROM raw.${source}__charge c
LEFT JOIN raw.${source}__job j ON j.${project_key} = ${project_from_charge}(c.project)
LEFT JOIN raw.${source}__currency cur ON cur.id = c.currency
WHERE coalesce(c.stage, '') <> 'NON_BILLABLE';

-- when milestone_schedules = 'clm_milestones'
-- The CLM's milestones are the schedule of milestone-billed SOWs: one line per milestone of a project, billed on its
-- due date. The CLM is mapped before the ERP, so canon.milestone holds its (value-mapped) milestones here.
INSERT INTO canon.billing_schedule (schedule_line_id, project_id, sow_id, bill_date, amount, currency, milestone_id,
                                    line_type, updated_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT m.milestone_id, p.project_id, m.sow_id, m.due_date, m.amount, p.currency, m.milestone_id, 'milestone', NULL,
       m.source_system, m.source_id, m.snapshot_ts, m.correlation_id
FROM canon.milestone m
JOIN canon.project p ON p.project_id = m.project_id AND p.source_system = '${source}'
WHERE coalesce(m.status, '') <> 'cancelled';

INSERT INTO canon.time_entry (time_entry_id, project_id, task_id, resource_id, resource_legal_entity_id, role,
                              work_date, hours, billable, approval_status, submitted_at, approved_at, cost_rate,
                              invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT id, ${project_from_timebill}(r.customer), casetaskevent, employee, subsidiary, "${custcol_role}", trandate, CAST(hours AS DECIMAL(9,2)),
       isbillable, approvalstatus, "${custcol_submitted_at}", "${custcol_approved_at}", "${custcol_cost_rate}",
       "${custcol_invoice_line}", '${source}', id, _extracted_at, "${correlation_column_field}"
FROM raw.${source}__timebill r;

INSERT INTO canon.expense (expense_id, project_id, resource_id, expense_date, category, amount, currency, billable,
                           approval_status, approved_at, invoice_line_id, source_system, source_id, snapshot_ts,
                           correlation_id)
SELECT x.id, ${project_from_expense_line}(x.customer), x.employee, x.expensedate, x.category, x.foreignamount, cur.symbol, x.isbillable,
       x.approvalstatus, x."${custcol_approved_at}", x."${custcol_invoice_line}", '${source}', x.id, x._extracted_at,
       x."${correlation_column_field}"
FROM raw.${source}__expense_line x
LEFT JOIN raw.${source}__currency cur ON cur.id = x.currency;

INSERT INTO canon.invoice (invoice_id, erp_invoice_no, client_id, legal_entity_id, sow_id, project_id, type, status,
                           invoice_date, posted_at, due_date, currency, amount_net, tax_amount, amount_gross,
                           amount_paid, payment_terms_days, po_number, source_ref, credit_reason_code,
                           source_system, source_id, snapshot_ts, correlation_id)
SELECT x.id, x.tranid, x.entity, x.subsidiary, x."${custbody_sow_id}", ${project_from_transaction}(x.job),
       CASE x.type WHEN 'CustCred' THEN 'credit_note' ELSE 'invoice' END, x.status, x.trandate,
       x."${custbody_posted_at}", x.duedate, cur.symbol, x."${custbody_net_amount}", x.taxtotal, x.foreigntotal,
       x.foreignamountpaid, CAST(t.daysuntilnetdue AS INTEGER), x.otherrefnum, ${credit_note_ref},
       x."${custbody_credit_reason}", '${source}', x.id, x._extracted_at, x."${correlation_body_field}"
FROM raw.${source}__transaction x
LEFT JOIN raw.${source}__currency cur ON cur.id = x.currency
LEFT JOIN raw.${source}__term t ON t.id = x.terms
WHERE x.type IN ('CustInvc', 'CustCred');

-- credit_note_link = 'memo': a credit note names the invoice it credits only in a text field ('Credit for
-- INV0000123', read into source_ref above); the invoice is the one with the number the pattern finds first. With
-- 'applied' the WHERE is constant false.
UPDATE canon.invoice AS cn
SET source_ref = (SELECT min(inv.invoice_id) FROM canon.invoice inv
                  WHERE inv.source_system = '${source}' AND inv.type = 'invoice'
                    AND inv.erp_invoice_no = regexp_extract(cn.source_ref, '${credit_note_invoice_pattern}'))
WHERE '${credit_note_link}' = 'memo' AND cn.source_system = '${source}' AND cn.type = 'credit_note';

INSERT INTO canon.invoice_line (invoice_line_id, invoice_id, line_no, line_type, source_id, role, quantity,
                                unit_price, amount, tax_code, tax_rate, period_start, period_end, reason_code,
                                approved_by, service_category, applied_to_retainer, source_system, snapshot_ts,
                                correlation_id)
SELECT uniquekey, "transaction", CAST(linesequencenumber AS INTEGER), "${custcol_line_type}", "${custcol_source_id}",
       "${custcol_role}", CAST(quantity AS DECIMAL(12,2)), rate, foreignamount, taxcode, "${custcol_tax_rate}",
       ${line_period_start}, ${line_period_end}, "${custcol_reason_code}", "${custcol_approved_by}",
       "${custcol_service_category}", "${custcol_applied_to_retainer}", '${source}', _extracted_at,
       "${correlation_column_field}"
FROM raw.${source}__transactionline
WHERE NOT coalesce(mainline, false) AND NOT coalesce(taxline, false);

-- invoice_lines = 'aggregated': a line its time entries name (custcol_invoice_line) bills all of them, so it names
-- no single entry, whatever its source field holds; chk.time_line links such a line through its entries. A line no
-- entry names keeps its source field (one entry per line). With 'per_entry' the WHERE is constant false.
UPDATE canon.invoice_line SET source_id = NULL
WHERE '${invoice_lines}' = 'aggregated' AND source_system = '${source}'
  AND invoice_line_id IN (SELECT tb."${custcol_invoice_line}" FROM raw.${source}__timebill tb);

-- service_period = 'header': the invoice holds one service period for all its lines (custbody_period_start/end),
-- which each line takes. With 'lines' the WHERE is constant false.
UPDATE canon.invoice_line AS il SET period_start = ${header_period_start}, period_end = ${header_period_end}
FROM raw.${source}__transaction h
WHERE '${service_period}' = 'header' AND il.source_system = '${source}' AND h.id = il.invoice_id;

INSERT INTO canon.payment (payment_id, invoice_id, client_id, legal_entity_id, amount, currency, received_date,
                           applied_date, source_system, source_id, snapshot_ts, correlation_id)
SELECT x.id, x."${custbody_applied_invoice}", x.entity, x.subsidiary, x.foreigntotal, cur.symbol, x.trandate,
       x."${custbody_applied_date}", '${source}', x.id, x._extracted_at, x."${correlation_body_field}"
FROM raw.${source}__transaction x
LEFT JOIN raw.${source}__currency cur ON cur.id = x.currency
WHERE x.type = 'CustPymt';

INSERT INTO canon.subcontract (subcontract_id, vendor_id, project_id, sow_id, cap_amount, currency, valid_from,
                               valid_to, status, rebillable, markup_pct, source_system, source_id, snapshot_ts,
                               correlation_id)
SELECT x.id, x.entity, ${project_from_transaction}(x.job), x."${custbody_sow_id}", x.foreigntotal, cur.symbol, x."${custbody_valid_from}",
       x."${custbody_valid_to}", x.status, x."${custbody_rebillable}", x."${custbody_markup_pct}", '${source}', x.id,
       x._extracted_at, x."${correlation_body_field}"
FROM raw.${source}__transaction x
LEFT JOIN raw.${source}__currency cur ON cur.id = x.currency
WHERE x.type = 'PurchOrd';

INSERT INTO canon.vendor_bill (vendor_bill_id, vendor_id, project_id, subcontract_id, bill_date, amount, currency,
                               rebillable, invoice_line_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT x.id, x.entity, ${project_from_transaction}(x.job), x."${custbody_subcontract}", x.trandate, x.foreigntotal, cur.symbol,
       x."${custbody_rebillable}", x."${custbody_invoice_line}", '${source}', x.id, x._extracted_at,
       x."${correlation_body_field}"
FROM raw.${source}__transaction x
LEFT JOIN raw.${source}__currency cur ON cur.id = x.currency
WHERE x.type = 'VendBill';

INSERT INTO canon.revenue_contract (sow_id, transaction_price, tp_updated_at, source_system, source_id, snapshot_ts,
                                    correlation_id)
SELECT "${custbody_sow_id}", foreigntotal, "${custbody_tp_updated}", '${source}', id, _extracted_at,
       "${correlation_body_field}"
FROM raw.${source}__transaction
WHERE type = 'RevArrng';

INSERT INTO canon.revenue_schedule (rev_line_id, sow_id, project_id, period, method, amount, posted_at,
                                    period_locked, source_system, source_id, snapshot_ts, correlation_id)
SELECT l.id, l."${custrecord_sow_id}", ${project_from_revenueplan_line}(l.job), p.startdate, l.revenuerecognitionrule, l.amount,
       l."${custrecord_posted_at}", l."${custrecord_period_locked}", '${source}', l.id, l._extracted_at,
       l."${correlation_record_field}"
FROM raw.${source}__revenueplan_line l
LEFT JOIN raw.${source}__accountingperiod p ON p.id = l.plannedperiod;

INSERT INTO canon.period_lock (period, lock_ts, source_system, source_id, snapshot_ts, correlation_id)
SELECT startdate, closedondate, '${source}', id, _extracted_at, NULL
FROM raw.${source}__accountingperiod
WHERE alllocked;

INSERT INTO canon.write_down (write_down_id, project_id, amount, currency, reason_code, requested_by_role,
                              approved_by, created_at, source_system, source_id, snapshot_ts, correlation_id)
SELECT w.id, ${project_from_write_down}(w."${custrecord_project}"), w."${custrecord_amount}", cur.symbol, w."${custrecord_reason_code}",
       w."${custrecord_requested_by_role}", w."${custrecord_approved_by}", w.created, '${source}', w.id,
       w._extracted_at, w."${correlation_record_field}"
FROM raw.${source}__write_down w
LEFT JOIN raw.${source}__currency cur ON cur.id = w."${custrecord_currency}";

INSERT INTO canon.collection_action (invoice_id, action_type, action_date, source_system, source_id, snapshot_ts,
                                     correlation_id)
SELECT "${custrecord_invoice}", "${custrecord_action_type}", "${custrecord_action_date}", '${source}', id,
       _extracted_at, "${correlation_record_field}"
FROM raw.${source}__collection_action;

INSERT INTO canon.dispute (invoice_id, opened, closed, reason_code, source_system, source_id, snapshot_ts,
                           correlation_id)
SELECT "${custrecord_invoice}", "${custrecord_opened}", "${custrecord_closed}", "${custrecord_reason_code}",
       '${source}', id, _extracted_at, "${correlation_record_field}"
FROM raw.${source}__dispute;

-- when milestone_acceptance = 'milestone_record'
INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date,
                             accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT id, "${custrecord_sow_id}", ${project_from_milestone}(r."${custrecord_project}"), name, "${custrecord_amount}",
       "${custrecord_due_date}",
       "${custrecord_status}", "${custrecord_completed_date}", "${custrecord_accepted_date}",
       "${custrecord_billing_trigger}", '${source}', id, _extracted_at, "${correlation_record_field}"
FROM raw.${source}__milestone r;

-- when milestone_acceptance = 'project_task'
-- Acceptance on the milestone's project task (ismilestone, custevent_milestone_id = the record): its status and
-- dates; the custom record keeps the plan. A milestone with several such tasks reads the first.
INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date,
                             accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT m.id, m."${custrecord_sow_id}", ${project_from_milestone}(m."${custrecord_project}"), m.name,
       m."${custrecord_amount}", m."${custrecord_due_date}", t."${custevent_milestone_status}",
       t."${custevent_completed_date}", t."${custevent_accepted_date}", m."${custrecord_billing_trigger}", '${source}',
       m.id, m._extracted_at, m."${correlation_record_field}"
FROM raw.${source}__milestone m
LEFT JOIN (SELECT *, row_number() OVER (PARTITION BY "${custevent_milestone_id}" ORDER BY id) AS rn
           FROM raw.${source}__projecttask WHERE coalesce(ismilestone, false)) t
       ON t."${custevent_milestone_id}" = m.id AND t.rn = 1;

DROP MACRO IF EXISTS netsuite_project_from_id;
DROP MACRO IF EXISTS netsuite_project_from_entityid;
