/* ---
id: Q2C-080
title: Revenue method not allowed for the SOW's billing / performance pattern
severity: S1
owner: Revenue Accounting
domain: revenue
systems: [ERP, CLM]
description: >
  Revenue-schedule lines of a SOW use a method that the firm's rev_policy_matrix does not allow for the
  SOW's billing type and over-time criteria (a matrix row with NULL over_time_criteria matches any).
remediation: Correct the revenue method per policy and re-measure revenue.
impact_kind: compliance
stage: invoice
impact: round(sum(amount of non-permitted lines, period <= as_of) * fx(sow ccy, as_of), 2)
entity: sow
depends_on: [revenue_schedule, sow, amendment, contract, rev_policy_matrix, fx_rate]
--- */
WITH bad AS (
  SELECT rs.sow_id, rs.method, rs.amount, rs.period
  FROM canon.revenue_schedule rs
  JOIN chk.sow_effective se ON se.sow_id = rs.sow_id
  WHERE rs.period <= getvariable('as_of')
    AND NOT EXISTS (SELECT 1 FROM canon.rev_policy_matrix pm
                    WHERE pm.billing_type = se.billing_type AND pm.method = rs.method
                      AND (pm.over_time_criteria IS NULL OR pm.over_time_criteria = se.over_time_criteria)))
SELECT 'sow' AS entity_type, se.sow_id AS entity_id, se.correlation_id,
       CAST(round(sum(b.amount) * min(fx.rate), 2) AS DECIMAL(18, 2)) AS impact_rc,
       se.client_id, se.sow_id, se.legal_entity_id, min(b.period) AS event_date, se.billing_type,
       se.over_time_criteria, min(b.method) AS method, count(DISTINCT b.method) AS n_methods,
       min(se.currency) AS currency, sum(b.amount) AS amount, min(fx.rate) AS fx_rate, min(ctx.as_of) AS fx_date
FROM bad b
JOIN chk.sow_effective se ON se.sow_id = b.sow_id
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = se.currency AND fx.d = ctx.as_of
GROUP BY se.sow_id, se.correlation_id, se.client_id, se.legal_entity_id, se.billing_type, se.over_time_criteria
