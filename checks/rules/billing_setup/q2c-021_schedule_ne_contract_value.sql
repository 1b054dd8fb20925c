/* ---
id: Q2C-021
title: Billing-schedule total differs from effective contract value
severity: S2
owner: Billing Ops
domain: billing_setup
systems: [PSA, ERP, CLM]
description: >
  For FF / MILESTONE / RETAINER / MANAGED_SERVICE SOWs the sum of billing-schedule lines (same currency)
  differs from the amendment-adjusted value by more than max(tol_abs_021, tol_pct_021 x eff_value).
  S1 when the schedule exceeds the contract. A schedule that still equals the un-amended value after an
  amendment is Q2C-061 (amendment not in billing), not this check.
remediation: Re-base the billing schedule on the executed value.
impact_kind: leakage
stage: schedule
money: schedule
impact: round(abs(sched_total - eff_value) * fx(currency, signed_date), 2)
entity: sow
depends_on: [sow, amendment, contract, billing_schedule, fx_rate]
params:
  tol_abs_021: 1
  tol_pct_021: 0.001
--- */
WITH sched AS (
  SELECT b.sow_id, b.currency, sum(b.amount) AS sched_total
  FROM canon.billing_schedule b
  GROUP BY b.sow_id, b.currency)
SELECT 'sow' AS entity_type, se.sow_id AS entity_id, se.correlation_id,
       CAST(round(abs(s.sched_total - se.eff_value) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       se.client_id, se.sow_id, se.legal_entity_id, se.signed_date AS event_date, se.billing_type,
       se.eff_value, s.sched_total, s.sched_total - se.eff_value AS diff, se.currency,
       abs(s.sched_total - se.eff_value) AS amount, fx.rate AS fx_rate, se.signed_date AS fx_date,
       CASE WHEN s.sched_total > se.eff_value THEN 'S1' END AS severity
FROM chk.sow_effective se
JOIN sched s ON s.sow_id = se.sow_id AND s.currency = se.currency
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = se.currency AND fx.d = se.signed_date
WHERE se.billing_type IN ('FF', 'MILESTONE', 'RETAINER', 'MANAGED_SERVICE')
  AND abs(s.sched_total - se.eff_value) > greatest(getvariable('tol_abs_021'), getvariable('tol_pct_021') * se.eff_value)
  AND NOT (se.eff_value <> se.value AND abs(s.sched_total - se.value) <= 0.01)
