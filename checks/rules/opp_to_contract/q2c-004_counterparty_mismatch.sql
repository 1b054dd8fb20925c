/* ---
id: Q2C-004
title: Counterparty or contracting-entity mismatch between opportunity and SOW
severity: S2
owner: Deal Desk
domain: opp_to_contract
systems: [CRM, CLM]
description: The SOW's client differs from its opportunity's client, or the opportunity names a different legal entity.
remediation: Fix the account or legal entity on the wrong side before anything is invoiced.
impact_kind: exposure
stage: contract
impact: round(sow value * fx(currency, signed_date), 2)
entity: sow
depends_on: [sow, opportunity, fx_rate]
--- */
SELECT 'sow' AS entity_type, s.sow_id AS entity_id, s.correlation_id,
       CAST(round(s.value * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       s.client_id, s.sow_id, s.legal_entity_id, s.signed_date AS event_date, o.opportunity_id,
       o.client_id AS opp_client_id, o.legal_entity_id AS opp_legal_entity_id, s.currency, s.value AS amount,
       fx.rate AS fx_rate, coalesce(s.signed_date, o.close_date) AS fx_date
FROM canon.sow s
JOIN canon.opportunity o ON o.opportunity_id = s.opportunity_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = s.currency AND fx.d = coalesce(s.signed_date, o.close_date)
WHERE s.client_id <> o.client_id
   OR (o.legal_entity_id IS NOT NULL AND o.legal_entity_id <> s.legal_entity_id)
