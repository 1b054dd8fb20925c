/* ---
id: Q2C-081
title: Cumulative revenue above transaction price or cap
severity: S1
owner: Revenue Accounting
domain: revenue
systems: [ERP, CLM]
description: >
  Revenue recognised to date (periods <= as_of) on a SOW other than uncapped TM exceeds
  least(eff_value, eff_cap_amount) by more than 0.01.
remediation: Reverse the excess revenue; check the measure of progress.
impact_kind: compliance
stage: invoice
impact: round((cum_rev - least(eff_value, coalesce(eff_cap_amount, eff_value))) * fx(sow ccy, as_of), 2)
entity: sow
depends_on: [revenue_schedule, sow, amendment, contract, fx_rate]
--- */
WITH r AS (
  SELECT rs.sow_id, sum(rs.amount) AS cum_rev, max(rs.period) AS last_period
  FROM canon.revenue_schedule rs
  WHERE rs.period <= getvariable('as_of')
  GROUP BY rs.sow_id),
c AS (
  SELECT se.sow_id, se.correlation_id, se.client_id, se.legal_entity_id, se.currency, se.billing_type, se.eff_value,
         se.eff_cap_amount, r.cum_rev, r.last_period,
         least(se.eff_value, coalesce(se.eff_cap_amount, se.eff_value)) AS ceiling
  FROM chk.sow_effective se JOIN r ON r.sow_id = se.sow_id
  WHERE coalesce(se.billing_type, '') <> 'TM')
SELECT 'sow' AS entity_type, c.sow_id AS entity_id, c.correlation_id,
       CAST(round((c.cum_rev - c.ceiling) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       c.client_id, c.sow_id, c.legal_entity_id, c.last_period AS event_date, c.billing_type, c.eff_value,
       c.eff_cap_amount, c.cum_rev, c.currency, c.cum_rev - c.ceiling AS amount, fx.rate AS fx_rate,
       ctx.as_of AS fx_date
FROM c
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = c.currency AND fx.d = ctx.as_of
WHERE c.cum_rev > c.ceiling + 0.01
