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
SELECT 'invoice_line' AS entity_type, il.invoice_line_id AS entity_id, i.correlation_id,
       CAST(round(abs(il.amount) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       il.line_type, il.source_id, il.amount,
       CASE WHEN il.line_type = 'adjustment' THEN 'adjustment_unapproved' ELSE 'missing_source' END AS issue
FROM canon.invoice_line il
JOIN canon.invoice i ON i.invoice_id = il.invoice_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE i.status NOT IN ('draft', 'cancelled')
  AND ((il.line_type = 'time' AND NOT EXISTS (SELECT 1 FROM canon.time_entry t WHERE t.time_entry_id = il.source_id))
    OR (il.line_type = 'expense' AND NOT EXISTS (SELECT 1 FROM canon.expense e WHERE e.expense_id = il.source_id))
    OR (il.line_type = 'milestone' AND NOT EXISTS (SELECT 1 FROM canon.milestone m WHERE m.milestone_id = il.source_id))
    OR (il.line_type IN ('fixed', 'retainer')
        AND NOT EXISTS (SELECT 1 FROM canon.billing_schedule b WHERE b.schedule_line_id = il.source_id))
    OR (il.line_type = 'subcontract'
        AND NOT EXISTS (SELECT 1 FROM canon.vendor_bill v WHERE v.vendor_bill_id = il.source_id))
    OR (il.line_type = 'adjustment' AND (il.reason_code IS NULL OR il.approved_by IS NULL)))
