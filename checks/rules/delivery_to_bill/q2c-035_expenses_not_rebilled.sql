/* ---
id: Q2C-035
title: Approved billable expenses not re-billed
severity: S3
owner: Billing Ops
domain: delivery_to_bill
systems: [PSA, ERP]
description: >
  An approved billable expense on a SOW that allows re-billing has no invoice line more than
  grace_expense_days after approval. S2 after 60 days.
remediation: Bill the expense (with the contract markup) in the next run.
impact_kind: leakage
stage: invoice
money: expenses
impact: >
  amount at stake rebill_rc = round(rebill * fx(expense ccy, as_of), 2), rebill = round(amount * (1 + markup), 2) (the
  local `amount` evidence); expected_loss_rc round(rebill_rc * p_leak(age_days), 2), age from approved_at (UTC date)
entity: expense
grace: grace_expense_days
depends_on: [expense, project, sow, amendment, contract, invoice_line, fx_rate]
params:
  grace_expense_days: 30
--- */
WITH e AS (
  SELECT e.expense_id, e.correlation_id, p.project_id, p.client_id, p.sow_id, p.legal_entity_id, e.category,
         e.amount AS expense_amount, e.currency, CAST(e.approved_at AS DATE) AS approved_date,
         date_diff('day', CAST(e.approved_at AS DATE), ctx.as_of) AS age_days, fx.rate AS fx_rate, ctx.as_of AS fx_date,
         CAST(round(e.amount * (1 + coalesce(se.expense_markup_pct, 0)), 2) AS DECIMAL(18, 2)) AS rebill
  FROM canon.expense e
  JOIN canon.project p ON p.project_id = e.project_id
  JOIN chk.sow_effective se ON se.sow_id = p.sow_id
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = e.currency AND fx.d = ctx.as_of
  WHERE e.billable AND e.approval_status = 'approved' AND e.invoice_line_id IS NULL
    AND se.expense_rebillable
    AND NOT EXISTS (SELECT 1 FROM canon.invoice_line il WHERE il.line_type = 'expense' AND il.source_id = e.expense_id)
    AND date_diff('day', CAST(e.approved_at AS DATE), ctx.as_of) > getvariable('grace_expense_days')),
r AS (
  SELECT e.*, CAST(round(e.rebill * e.fx_rate, 2) AS DECIMAL(18, 2)) AS rebill_rc FROM e)
SELECT 'expense' AS entity_type, e.expense_id AS entity_id, e.correlation_id, e.rebill_rc AS impact_rc,
       CAST(round(e.rebill_rc * pl.p, 2) AS DECIMAL(18, 2)) AS expected_loss_rc,
       e.client_id, e.sow_id, e.project_id, e.legal_entity_id, e.approved_date AS event_date,
       e.category, e.expense_amount, e.currency, e.rebill AS amount, e.fx_rate, e.fx_date, e.age_days, pl.p AS p_leak,
       CASE WHEN e.age_days > 60 THEN 'S2' END AS severity
FROM r e
JOIN chk.p_leak pl ON e.age_days BETWEEN pl.lo AND pl.hi
