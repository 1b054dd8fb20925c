/* ---
id: Q2C-091
title: Subcontract spend above subcontract cap
severity: S2
owner: Procurement
domain: subcontract
systems: [ERP]
description: Vendor bills against a subcontract (in its currency) sum to more than its cap.
remediation: Stop further bills or raise the subcontract cap through procurement.
impact_kind: exposure
stage: contract
money: subcontract
impact: round((spent - cap_amount) * fx(ccy, as_of), 2)
entity: subcontract
depends_on: [subcontract, vendor_bill, project, fx_rate]
--- */
WITH s AS (
  SELECT sc.subcontract_id, sc.correlation_id, sc.project_id, sc.sow_id, sc.currency, sc.cap_amount,
         sum(vb.amount) AS spent, max(vb.bill_date) AS last_bill
  FROM canon.subcontract sc
  JOIN canon.vendor_bill vb ON vb.subcontract_id = sc.subcontract_id AND vb.currency = sc.currency
  WHERE sc.cap_amount IS NOT NULL
  GROUP BY sc.subcontract_id, sc.correlation_id, sc.project_id, sc.sow_id, sc.currency, sc.cap_amount
  HAVING sum(vb.amount) > sc.cap_amount)
SELECT 'subcontract' AS entity_type, s.subcontract_id AS entity_id, s.correlation_id,
       CAST(round((s.spent - s.cap_amount) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       p.client_id, coalesce(s.sow_id, p.sow_id) AS sow_id, s.project_id, p.legal_entity_id, s.last_bill AS event_date,
       s.cap_amount, s.spent, s.currency, s.spent - s.cap_amount AS amount, fx.rate AS fx_rate, ctx.as_of AS fx_date
FROM s
LEFT JOIN canon.project p ON p.project_id = s.project_id
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = s.currency AND fx.d = ctx.as_of
