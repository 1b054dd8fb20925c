/* ---
id: Q2C-010
title: Executed SOW without project after SLA
severity: S2
owner: PMO / Delivery Ops
domain: contract_to_project
systems: [CLM, PSA]
description: >
  An executed SOW has no non-cancelled project more than sla_sow_to_project_bd business days after
  signature (business days from the firm-wide calendar). S1 when the SOW start date is already past.
remediation: Create the project in the PSA (check the project-create integration event for this correlation ID).
impact_kind: cash
stage: project
impact: >
  amount at stake eff_value_rc = round(eff_value * fx(currency, signed_date), 2), the SOW's value that cannot be billed
  without a project; expected_loss_rc, the cost of the delay, round(eff_value_rc * (age_bd - sla_sow_to_project_bd) *
  bd_to_cal * coc / 365, 2); age_bd = bd(as_of) - bd(signed_date); coc 0.09
entity: sow
grace: sla_sow_to_project_bd
depends_on: [sow, amendment, contract, project, calendar, fx_rate]
params:
  bd_to_cal: 1.4
  sla_sow_to_project_bd: 5
--- */
WITH s AS (
  SELECT se.sow_id, se.correlation_id, se.client_id, se.legal_entity_id, se.signed_date, se.start_date,
         ctx.as_of_bd - b.bd_no AS age_bd, ctx.as_of, ctx.coc, se.currency, se.eff_value, fx.rate AS fx_rate,
         CAST(round(se.eff_value * fx.rate, 2) AS DECIMAL(18, 2)) AS value_rc
  FROM chk.sow_effective se
  CROSS JOIN chk.ctx ctx
  JOIN chk.bd b ON b.d = se.signed_date
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = se.currency AND fx.d = se.signed_date
  WHERE se.status = 'executed'
    AND NOT EXISTS (SELECT 1 FROM canon.project p
                    WHERE p.sow_id = se.sow_id AND coalesce(p.status, '') <> 'cancelled'))
SELECT 'sow' AS entity_type, sow_id AS entity_id, correlation_id,
       value_rc AS impact_rc,
       CAST(round(value_rc * (age_bd - getvariable('sla_sow_to_project_bd')) * getvariable('bd_to_cal') * coc / 365, 2)
            AS DECIMAL(18, 2)) AS expected_loss_rc,
       client_id, sow_id, legal_entity_id, signed_date AS event_date, start_date, age_bd,
       currency, eff_value AS amount, fx_rate, signed_date AS fx_date,
       CASE WHEN start_date < as_of THEN 'S1' END AS severity
FROM s
WHERE age_bd > getvariable('sla_sow_to_project_bd')
