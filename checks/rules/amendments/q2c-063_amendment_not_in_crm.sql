/* ---
id: Q2C-063
title: Amendment not reflected in CRM (change-order opportunity)
severity: S4
owner: Sales Ops
domain: amendments
systems: [CLM, CRM]
description: >
  An executed amendment adding value (signed more than grace_amend_bd business days ago) has no won
  change-order opportunity on its SOW whose amount is within 1 % of the value added.
remediation: Create and close-win the change-order opportunity in CRM.
impact_kind: compliance
stage: crm
impact: 0 (count only; value_delta in the evidence)
entity: amendment
depends_on: [amendment, sow, opportunity, calendar]
params:
  grace_amend_bd: 5
--- */
SELECT 'amendment' AS entity_type, a.amendment_id AS entity_id, a.correlation_id,
       CAST(0 AS DECIMAL(18, 2)) AS impact_rc, s.client_id, a.sow_id, s.legal_entity_id, a.signed_date AS event_date,
       a.value_delta, ctx.as_of_bd - b.bd_no AS age_bd
FROM canon.amendment a
JOIN canon.sow s ON s.sow_id = a.sow_id
CROSS JOIN chk.ctx ctx
JOIN chk.bd b ON b.d = a.signed_date
WHERE a.status = 'executed' AND a.value_delta > 0
  AND ctx.as_of_bd - b.bd_no > getvariable('grace_amend_bd')
  AND NOT EXISTS (SELECT 1 FROM canon.opportunity o
                  WHERE o.deal_type = 'change_order' AND o.parent_sow_id = a.sow_id AND o.is_won
                    AND abs(o.amount - a.value_delta) <= 0.01 * a.value_delta)
