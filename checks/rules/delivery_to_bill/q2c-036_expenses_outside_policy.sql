/* ---
id: Q2C-036
title: Expenses re-billed outside contract policy
severity: S2
owner: Billing Ops
domain: delivery_to_bill
systems: [ERP, CLM]
description: >
  An expense line on a posted invoice where the SOW does not allow re-billing, the policy disallows the
  category, or the billed amount differs from amount x (1 + markup) (same currency); and per SOW, total
  billed expenses above the SOW's expense cap.
remediation: Credit the over-billed amount.
impact_kind: exposure
stage: time
money: expenses
impact: >
  line: round(over * fx(invoice ccy, invoice_date), 2) with over = line amount when not re-billable or not
  allowed, else abs(line amount - round(amount * (1 + markup), 2)); cap: round((billed - expense_cap) * fx(sow ccy, as_of), 2)
entity: invoice_line, or sow for the cap
depends_on: [invoice_line, invoice, expense, project, sow, amendment, contract, expense_policy_rule, fx_rate]
--- */
WITH l AS (
  SELECT il.invoice_line_id, i.invoice_id, i.correlation_id, i.client_id, p.sow_id, p.project_id, i.legal_entity_id,
         i.invoice_date, i.currency AS inv_ccy, e.currency AS exp_ccy, e.category, e.amount, il.amount AS billed,
         coalesce(se.expense_rebillable, false) AS rebillable, epr.allowed,
         CAST(round(e.amount * (1 + coalesce(se.expense_markup_pct, 0)), 2) AS DECIMAL(18, 2)) AS expected
  FROM canon.invoice_line il
  JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  JOIN canon.expense e ON il.line_type = 'expense' AND il.source_id = e.expense_id
  JOIN canon.project p ON p.project_id = e.project_id
  JOIN chk.sow_effective se ON se.sow_id = p.sow_id
  LEFT JOIN canon.contract ct ON ct.contract_id = se.contract_id  -- a join, not a correlated subquery: Spark
  LEFT JOIN canon.expense_policy_rule epr                          -- takes those only outside join conditions
         ON epr.policy_id = coalesce(se.expense_policy_id, ct.expense_policy_id)
        AND epr.category = e.category
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')),
bad AS (
  SELECT l.*,
         CASE WHEN NOT l.rebillable THEN 'not_rebillable' WHEN l.allowed = false THEN 'category_not_allowed'
              WHEN l.inv_ccy = l.exp_ccy AND abs(l.billed - l.expected) > 0.01 THEN 'markup' END AS issue
  FROM l),
cap AS (
  SELECT se.sow_id, se.correlation_id, se.client_id, se.legal_entity_id, se.currency, se.expense_cap,
         sum(il.amount) AS billed, max(i.invoice_date) AS last_date
  FROM canon.invoice_line il
  JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  JOIN chk.sow_effective se ON se.sow_id = i.sow_id
  WHERE il.line_type = 'expense' AND i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
    AND se.expense_cap IS NOT NULL AND i.currency = se.currency
  GROUP BY se.sow_id, se.correlation_id, se.client_id, se.legal_entity_id, se.currency, se.expense_cap
  HAVING sum(il.amount) > se.expense_cap)
SELECT 'invoice_line' AS entity_type, b.invoice_line_id AS entity_id, b.correlation_id,
       CAST(round(CASE WHEN b.issue = 'markup' THEN abs(b.billed - b.expected) ELSE b.billed END * fx.rate, 2)
            AS DECIMAL(18, 2)) AS impact_rc,
       b.client_id, b.sow_id, b.project_id, b.invoice_id, b.legal_entity_id, b.invoice_date AS event_date,
       b.issue, b.category, b.amount AS expense_amount, b.billed, b.expected, b.inv_ccy AS currency,
       CASE WHEN b.issue = 'markup' THEN abs(b.billed - b.expected) ELSE b.billed END AS amount, fx.rate AS fx_rate,
       b.invoice_date AS fx_date
FROM bad b
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = b.inv_ccy AND fx.d = b.invoice_date
WHERE b.issue IS NOT NULL
UNION ALL
SELECT 'sow' AS entity_type, c.sow_id AS entity_id, c.correlation_id,
       CAST(round((c.billed - c.expense_cap) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       c.client_id, c.sow_id, NULL AS project_id, NULL AS invoice_id, c.legal_entity_id, c.last_date AS event_date,
       'expense_cap' AS issue, NULL AS category, NULL AS expense_amount, c.billed, c.expense_cap AS expected,
       c.currency, c.billed - c.expense_cap AS amount, fx.rate AS fx_rate, ctx.as_of AS fx_date
FROM cap c
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = c.currency AND fx.d = ctx.as_of
