/* ---
id: Q2C-002
title: Executed SOW without closed-won opportunity
severity: S3
owner: RevOps
domain: opp_to_contract
systems: [CLM, CRM]
description: An executed SOW whose opportunity is missing or not won; bookings and forecast are under-stated.
remediation: Create or close-win the opportunity in CRM and link it to the SOW.
impact_kind: compliance
stage: opportunity
impact: round(value * fx(currency, signed_date), 2)  (bookings gap)
entity: sow
depends_on: [sow, opportunity, fx_rate]
--- */
SELECT 'sow' AS entity_type, s.sow_id AS entity_id, s.correlation_id,
       CAST(round(s.value * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       s.client_id, s.sow_id, s.legal_entity_id, s.signed_date AS event_date,
       s.opportunity_id, o.is_won AS opp_is_won,
       CASE WHEN o.opportunity_id IS NULL THEN 'no_opportunity' ELSE 'opportunity_not_won' END AS issue,
       s.currency, s.value AS amount, fx.rate AS fx_rate, s.signed_date AS fx_date
FROM canon.sow s
LEFT JOIN canon.opportunity o ON o.opportunity_id = s.opportunity_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = s.currency AND fx.d = s.signed_date
WHERE s.status = 'executed'
  AND (o.opportunity_id IS NULL OR NOT coalesce(o.is_won, false))
