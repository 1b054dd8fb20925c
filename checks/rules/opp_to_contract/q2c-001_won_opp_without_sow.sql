/* ---
id: Q2C-001
title: Closed-won opportunity without executed SOW/contract
severity: S2
owner: Deal Desk / Sales Ops
domain: opp_to_contract
systems: [CRM, CLM]
description: >
  A won opportunity (not an auto-renewal) closed at least grace_won_to_sow_days ago has no executed or
  completed SOW; a won change-order opportunity is covered by an executed amendment on its parent SOW
  signed no earlier than 30 days before the close date.
remediation: Chase the paper with the deal desk, or re-open / mark the opportunity lost.
impact_kind: exposure
stage: opportunity
impact: round(amount * fx(currency, close_date), 2)
entity: opportunity
grace: grace_won_to_sow_days
depends_on: [opportunity, sow, amendment, fx_rate]
params:
  grace_won_to_sow_days: 10
--- */
SELECT 'opportunity' AS entity_type, o.opportunity_id AS entity_id, o.correlation_id,
       CAST(round(o.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       o.client_id, o.legal_entity_id, o.close_date AS event_date,
       o.amount, o.currency, fx.rate AS fx_rate, o.close_date AS fx_date, o.deal_type,
       date_diff('day', o.close_date, ctx.as_of) AS age_days
FROM canon.opportunity o
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = o.currency AND fx.d = o.close_date
WHERE o.is_won
  AND coalesce(o.deal_type, '') <> 'renewal_auto'
  AND date_diff('day', o.close_date, ctx.as_of) >= getvariable('grace_won_to_sow_days')
  AND NOT EXISTS (SELECT 1 FROM canon.sow s
                  WHERE s.opportunity_id = o.opportunity_id AND s.status IN ('executed', 'completed'))
  AND NOT EXISTS (SELECT 1 FROM canon.amendment a
                  WHERE o.deal_type = 'change_order' AND a.sow_id = o.parent_sow_id
                    AND a.status = 'executed' AND date_diff('day', o.close_date, a.signed_date) >= -30)
