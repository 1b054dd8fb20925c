/* ---
id: Q2C-060
title: Executed amendment not in project budget
severity: S2
owner: PMO
domain: amendments
systems: [CLM, PSA]
description: >
  An executed amendment with a value change (effective on or before as_of, signed more than
  grace_amend_bd business days ago) whose primary, non-cancelled project budget was not updated since
  signature (budget_updated_at NULL or before the signed date) or — for the latest value amendment of
  the SOW — differs from the effective SOW value.
remediation: Update the project budget to the amended contract value.
impact_kind: exposure
stage: project
impact: round(abs(value_delta) * fx(sow ccy, signed_date), 2)
entity: amendment
grace: grace_amend_bd
depends_on: [amendment, sow, contract, project, calendar, fx_rate]
params:
  grace_amend_bd: 5
--- */
WITH am AS (
  SELECT a.amendment_id, a.sow_id, a.correlation_id, a.value_delta, a.signed_date, a.amendment_no,
         row_number() OVER (PARTITION BY a.sow_id ORDER BY a.amendment_no DESC) AS rn_value
  FROM canon.amendment a
  WHERE a.status = 'executed' AND a.effective_date <= getvariable('as_of') AND a.value_delta <> 0),
hit AS (
  SELECT a.amendment_id, a.sow_id, a.correlation_id, a.value_delta, a.signed_date, se.currency, se.client_id,
         se.legal_entity_id, se.eff_value, p.project_id, p.budget_amount, ctx.as_of_bd - b.bd_no AS age_bd
  FROM am a
  JOIN chk.sow_effective se ON se.sow_id = a.sow_id
  JOIN canon.project p ON p.sow_id = a.sow_id AND coalesce(p.status, '') <> 'cancelled'
                      AND coalesce(p.project_role, 'primary') = 'primary'
  CROSS JOIN chk.ctx ctx
  JOIN chk.bd b ON b.d = a.signed_date
  WHERE ctx.as_of_bd - b.bd_no > getvariable('grace_amend_bd')
    AND (p.budget_updated_at IS NULL OR CAST(p.budget_updated_at AS DATE) < a.signed_date
         OR (a.rn_value = 1 AND abs(coalesce(p.budget_amount, 0) - se.eff_value) > 0.01)))
SELECT 'amendment' AS entity_type, h.amendment_id AS entity_id, min(h.correlation_id) AS correlation_id,
       CAST(round(abs(min(h.value_delta)) * min(fx.rate), 2) AS DECIMAL(18, 2)) AS impact_rc,
       min(h.client_id) AS client_id, h.sow_id, min(h.project_id) AS project_id,
       min(h.legal_entity_id) AS legal_entity_id, min(h.signed_date) AS event_date,
       min(h.value_delta) AS value_delta, min(h.budget_amount) AS budget_amount, min(h.eff_value) AS eff_value,
       min(h.age_bd) AS age_bd, min(h.currency) AS currency, abs(min(h.value_delta)) AS amount, min(fx.rate) AS fx_rate,
       min(h.signed_date) AS fx_date
FROM hit h
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = h.currency AND fx.d = h.signed_date
GROUP BY h.amendment_id, h.sow_id
