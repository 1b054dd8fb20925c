/* ---
id: Q2C-003
title: SOW value differs from won opportunity amount
severity: S3
owner: Deal Desk
domain: opp_to_contract
systems: [CRM, CLM]
description: >
  The original (un-amended) value of an executed SOW differs from its won opportunity's amount by more
  than max(tol_abs_003, tol_pct_003 x opportunity amount), both in USD.
remediation: Correct the opportunity amount (or the SOW) so bookings match the signed paper.
impact_kind: exposure
stage: contract
impact: abs(sow_rc - opp_rc); sow_rc = round(value * fx(sow ccy, signed_date), 2), opp_rc = round(amount * fx(opp ccy, close_date), 2)
entity: sow
depends_on: [sow, opportunity, fx_rate]
params:
  tol_pct_003: 0.01
  tol_abs_003: 500
--- */
WITH v AS (
  SELECT s.sow_id, s.correlation_id, s.client_id, s.legal_entity_id, s.signed_date, o.opportunity_id,
         s.currency AS sow_currency, s.value AS sow_value, fs.rate AS sow_fx_rate, o.currency AS opp_currency,
         o.amount AS opp_amount, fo.rate AS opp_fx_rate, o.close_date AS opp_fx_date,
         CAST(round(s.value * fs.rate, 2) AS DECIMAL(18, 2)) AS sow_rc,
         CAST(round(o.amount * fo.rate, 2) AS DECIMAL(18, 2)) AS opp_rc
  FROM canon.sow s
  JOIN canon.opportunity o ON o.opportunity_id = s.opportunity_id
  LEFT JOIN chk.fx_daily fs ON fs.from_ccy = s.currency AND fs.d = s.signed_date
  LEFT JOIN chk.fx_daily fo ON fo.from_ccy = o.currency AND fo.d = o.close_date
  WHERE s.status = 'executed' AND o.is_won)
SELECT 'sow' AS entity_type, sow_id AS entity_id, correlation_id, abs(sow_rc - opp_rc) AS impact_rc,
       client_id, sow_id, legal_entity_id, signed_date AS event_date, opportunity_id, sow_rc, opp_rc,
       sow_rc - opp_rc AS diff_rc, sow_currency, sow_value, sow_fx_rate, signed_date AS sow_fx_date,
       opp_currency, opp_amount, opp_fx_rate, opp_fx_date
FROM v
WHERE abs(sow_rc - opp_rc) > greatest(getvariable('tol_abs_003'), getvariable('tol_pct_003') * opp_rc)
