/* ---
id: Q2C-103
title: Orphan cross-system references
severity: S2
owner: Integration
domain: integration
systems: [CRM, CLM, ERP, PSA]
description: >
  A reference to a record that does not exist: invoice to project or SOW, project to SOW, time entry to
  project, invoice line to invoice, payment to invoice, CRM invoice status to ERP invoice.
remediation: Load the missing record (often a late or failed extract) or fix the reference.
impact_kind: compliance
stage: data
impact: invoices round(amount_gross * fx(ccy, invoice_date), 2); payments round(amount * fx, 2); CRM records round(amount * fx(ccy, due_date), 2); others 0
entity: the referencing record
depends_on: [invoice, project, sow, time_entry, invoice_line, payment, crm_invoice_status, fx_rate]
--- */
WITH o AS (
  SELECT 'invoice' AS et, i.invoice_id AS eid, i.correlation_id, 'invoice_to_project' AS ref, i.project_id AS missing_id,
         i.currency AS ccy, i.amount_gross AS amount, i.invoice_date AS d
  FROM canon.invoice i
  WHERE i.project_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM canon.project p WHERE p.project_id = i.project_id)
  UNION ALL
  SELECT 'invoice', i.invoice_id, i.correlation_id, 'invoice_to_sow', i.sow_id, i.currency, i.amount_gross, i.invoice_date
  FROM canon.invoice i
  WHERE i.sow_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM canon.sow s WHERE s.sow_id = i.sow_id)
  UNION ALL
  SELECT 'project', p.project_id, p.correlation_id, 'project_to_sow', p.sow_id, NULL, NULL, CAST(p.created_at AS DATE)
  FROM canon.project p
  WHERE p.sow_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM canon.sow s WHERE s.sow_id = p.sow_id)
  UNION ALL
  SELECT 'time_entry', t.time_entry_id, t.correlation_id, 'time_to_project', t.project_id, NULL, NULL, t.work_date
  FROM canon.time_entry t
  WHERE NOT EXISTS (SELECT 1 FROM canon.project p WHERE p.project_id = t.project_id)
  UNION ALL
  SELECT 'invoice_line', il.invoice_line_id, il.correlation_id, 'line_to_invoice', il.invoice_id, NULL, NULL, il.period_start
  FROM canon.invoice_line il
  WHERE NOT EXISTS (SELECT 1 FROM canon.invoice i WHERE i.invoice_id = il.invoice_id)
  UNION ALL
  SELECT 'payment', y.payment_id, y.correlation_id, 'payment_to_invoice', y.invoice_id, y.currency, y.amount, y.received_date
  FROM canon.payment y
  WHERE y.invoice_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM canon.invoice i WHERE i.invoice_id = y.invoice_id)
  UNION ALL
  SELECT 'crm_invoice_status', c.crm_record_id, c.correlation_id, 'crm_status_to_invoice', c.erp_invoice_no, c.currency,
         c.amount, c.due_date
  FROM canon.crm_invoice_status c
  WHERE NOT EXISTS (SELECT 1 FROM canon.invoice i WHERE i.erp_invoice_no = c.erp_invoice_no))
SELECT o.et AS entity_type, o.eid AS entity_id, o.correlation_id,
       CAST(coalesce(round(o.amount * fx.rate, 2), 0) AS DECIMAL(18, 2)) AS impact_rc, o.d AS event_date,
       min(o.ref) OVER (PARTITION BY o.et, o.eid) AS ref, o.missing_id, o.ccy AS currency, o.amount,
       fx.rate AS fx_rate, CASE WHEN o.amount IS NOT NULL THEN o.d END AS fx_date,
       -- the invoice the record is (or names, even one that is missing) is the money it is about (checks/cases.py)
       CASE WHEN o.et = 'invoice' THEN o.eid WHEN o.et IN ('invoice_line', 'payment') THEN o.missing_id END AS invoice_id
FROM o
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = o.ccy AND fx.d = o.d
