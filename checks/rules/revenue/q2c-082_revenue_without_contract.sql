/* ---
id: Q2C-082
title: Revenue recognised without an executed contract
severity: S1
owner: Revenue Accounting
domain: revenue
systems: [ERP, CLM]
description: >
  Revenue-schedule lines (periods <= as_of) whose SOW is missing, not executed/completed, or whose period
  starts before the month the SOW was signed. One finding per SOW (per project when no SOW id).
remediation: Reverse the revenue until the contract is executed (ASC 606-10-25-1).
impact_kind: compliance
stage: invoice
impact: round(sum(amount of offending lines) * fx(ccy, as_of), 2); ccy = SOW currency, else project currency
entity: sow (or project)
depends_on: [revenue_schedule, sow, project, fx_rate]
--- */
WITH bad AS (
  SELECT rs.sow_id, rs.project_id, rs.amount, rs.period, rs.correlation_id,
         coalesce(s.currency, p.currency) AS currency, coalesce(s.client_id, p.client_id) AS client_id,
         coalesce(s.legal_entity_id, p.legal_entity_id) AS legal_entity_id,
         CASE WHEN s.sow_id IS NULL THEN 'no_sow' WHEN s.status NOT IN ('executed', 'completed') THEN 'sow_not_executed'
              ELSE 'before_signature' END AS issue
  FROM canon.revenue_schedule rs
  LEFT JOIN canon.sow s ON s.sow_id = rs.sow_id
  LEFT JOIN canon.project p ON p.project_id = rs.project_id
  WHERE rs.period <= getvariable('as_of')
    AND (s.sow_id IS NULL OR s.status NOT IN ('executed', 'completed')
         OR rs.period < date_trunc('month', s.signed_date)))
SELECT CASE WHEN b.sow_id IS NULL THEN 'project' ELSE 'sow' END AS entity_type,
       coalesce(b.sow_id, b.project_id) AS entity_id, min(b.correlation_id) AS correlation_id,
       CAST(round(sum(b.amount) * min(fx.rate), 2) AS DECIMAL(18, 2)) AS impact_rc,
       min(b.client_id) AS client_id, b.sow_id, min(b.project_id) AS project_id, min(b.legal_entity_id) AS legal_entity_id,
       min(b.period) AS event_date, min(b.issue) AS issue, sum(b.amount) AS revenue, min(b.currency) AS currency,
       sum(b.amount) AS amount, min(fx.rate) AS fx_rate, min(ctx.as_of) AS fx_date
FROM bad b
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = b.currency AND fx.d = ctx.as_of
GROUP BY b.sow_id, coalesce(b.sow_id, b.project_id)
