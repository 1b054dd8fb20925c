/* ---
id: Q2C-093
title: Subcontractor cost on a fixed-fee project above budgeted sub-cost
severity: S3
owner: PM
domain: subcontract
systems: [ERP, PSA]
description: Vendor bills (project currency) on an FF / MILESTONE project exceed budget_subcontract_cost x (1 + sub_budget_tol_pct).
remediation: Re-forecast the project margin; negotiate with the subcontractor.
impact_kind: leakage
stage: project
money: subcontract
impact: round((actual_sub_cost - budget_subcontract_cost) * fx(project ccy, as_of), 2)
entity: project
depends_on: [project, vendor_bill, fx_rate]
params:
  sub_budget_tol_pct: 0.05
--- */
WITH s AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, p.currency,
         p.budget_subcontract_cost, sum(vb.amount) AS actual_sub_cost
  FROM canon.project p
  JOIN canon.vendor_bill vb ON vb.project_id = p.project_id AND vb.currency = p.currency
  WHERE p.billing_type IN ('FF', 'MILESTONE') AND p.budget_subcontract_cost IS NOT NULL
  GROUP BY p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, p.currency, p.budget_subcontract_cost
  HAVING sum(vb.amount) > p.budget_subcontract_cost * (1 + getvariable('sub_budget_tol_pct')))
SELECT 'project' AS entity_type, s.project_id AS entity_id, s.correlation_id,
       CAST(round((s.actual_sub_cost - s.budget_subcontract_cost) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       s.client_id, s.sow_id, s.project_id, s.legal_entity_id, s.budget_subcontract_cost, s.actual_sub_cost,
       s.currency, s.actual_sub_cost - s.budget_subcontract_cost AS amount, fx.rate AS fx_rate, ctx.as_of AS fx_date
FROM s
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = s.currency AND fx.d = ctx.as_of
