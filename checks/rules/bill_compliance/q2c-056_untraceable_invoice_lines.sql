/* ---
id: Q2C-056
title: Untraceable invoice lines
severity: S3
owner: Billing Ops / Controller
domain: bill_compliance
systems: [ERP, PSA]
description: >
  A line on a posted invoice whose source record does not exist (time, expense, milestone, fixed/retainer
  schedule line, subcontract vendor bill), or an adjustment line without reason code or approver.
remediation: Attach the source record or the adjustment reason and approval.
impact_kind: compliance
stage: invoice
impact: round(abs(line amount) * fx(invoice ccy, invoice_date), 2)
entity: invoice_line
depends_on: [invoice_line, invoice, time_entry, expense, milestone, billing_schedule, vendor_bill, fx_rate]
--- */
WITH posted AS (
  SELECT invoice_id FROM canon.invoice WHERE status NOT IN ('draft', 'cancelled')),
src AS (  -- time lines are matched to their entries once, in chk.time_line
  SELECT 'expense' AS line_type, e.expense_id AS source_id FROM canon.expense e
  UNION ALL SELECT 'milestone', m.milestone_id FROM canon.milestone m
  UNION ALL SELECT 'fixed', bs.schedule_line_id FROM canon.billing_schedule bs
  UNION ALL SELECT 'retainer', bs.schedule_line_id FROM canon.billing_schedule bs
  UNION ALL SELECT 'subcontract', vb.vendor_bill_id FROM canon.vendor_bill vb),
-- The failing lines on narrow columns first; the invoice's columns are joined to those few only (carrying
-- them on all 11M lines at tier l cost more than finding the failures).
flagged AS (
  SELECT il.invoice_line_id, il.invoice_id, il.line_type, il.source_id, il.amount, 'missing_source' AS issue
  FROM canon.invoice_line il
  JOIN posted ON posted.invoice_id = il.invoice_id
  LEFT JOIN src ON src.line_type = il.line_type AND src.source_id = il.source_id
  WHERE il.line_type IN ('expense', 'milestone', 'fixed', 'retainer', 'subcontract')
    AND src.source_id IS NULL
  UNION ALL
  SELECT invoice_line_id, invoice_id, 'time', source_id, amount, 'missing_source'
  FROM chk.time_line
  WHERE NOT matched
  UNION ALL
  SELECT il.invoice_line_id, il.invoice_id, il.line_type, il.source_id, il.amount, 'adjustment_unapproved'
  FROM canon.invoice_line il
  JOIN posted ON posted.invoice_id = il.invoice_id
  WHERE il.line_type = 'adjustment' AND (il.reason_code IS NULL OR il.approved_by IS NULL))
SELECT 'invoice_line' AS entity_type, l.invoice_line_id AS entity_id, i.correlation_id,
       CAST(round(abs(l.amount) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, l.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       l.line_type, l.source_id, l.amount, l.issue, i.currency, fx.rate AS fx_rate, i.invoice_date AS fx_date
FROM flagged l
JOIN canon.invoice i ON i.invoice_id = l.invoice_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
