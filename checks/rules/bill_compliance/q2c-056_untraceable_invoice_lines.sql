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
impact_kind: count
impact: round(abs(line amount) * fx(invoice ccy, invoice_date), 2)
entity: invoice_line
depends_on: [invoice_line, invoice, time_entry, expense, milestone, billing_schedule, vendor_bill, fx_rate]
--- */
WITH l AS (
  SELECT il.*, i.correlation_id AS inv_correlation_id, i.client_id, i.sow_id, i.project_id, i.legal_entity_id,
         i.invoice_date, i.currency
  FROM canon.invoice_line il
  JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  WHERE i.status NOT IN ('draft', 'cancelled')),
src AS (  -- time lines are matched to their entries once, in chk.time_line
  SELECT 'expense' AS line_type, expense_id AS source_id FROM canon.expense
  UNION ALL SELECT 'milestone', milestone_id FROM canon.milestone
  UNION ALL SELECT 'fixed', schedule_line_id FROM canon.billing_schedule
  UNION ALL SELECT 'retainer', schedule_line_id FROM canon.billing_schedule
  UNION ALL SELECT 'subcontract', vendor_bill_id FROM canon.vendor_bill),
sourced AS (  -- lines without their source record: one outer join, no DISTINCT over millions of line ids
  SELECT l.* FROM l
  LEFT JOIN src ON src.line_type = l.line_type AND src.source_id = l.source_id
  WHERE l.line_type IN ('expense', 'milestone', 'fixed', 'retainer', 'subcontract')
    AND src.source_id IS NULL
  UNION ALL
  SELECT l.* FROM l
  WHERE l.line_type = 'time'
    AND l.invoice_line_id IN (SELECT invoice_line_id FROM chk.time_line WHERE time_entry_id IS NULL)),
flagged AS (
  SELECT *, 'missing_source' AS issue FROM sourced
  UNION ALL
  SELECT *, 'adjustment_unapproved' AS issue FROM l
  WHERE l.line_type = 'adjustment' AND (l.reason_code IS NULL OR l.approved_by IS NULL))
SELECT 'invoice_line' AS entity_type, l.invoice_line_id AS entity_id, l.inv_correlation_id AS correlation_id,
       CAST(round(abs(l.amount) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       l.client_id, l.sow_id, l.project_id, l.invoice_id, l.legal_entity_id, l.invoice_date AS event_date,
       l.line_type, l.source_id, l.amount, l.issue
FROM flagged l
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = l.currency AND fx.d = l.invoice_date
