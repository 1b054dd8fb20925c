/* ---
id: Q2C-050
title: Cumulative billing beyond cap / not-to-exceed
severity: S1
owner: Billing Ops / PM
domain: bill_compliance
systems: [ERP, CLM]
description: >
  Net billed on a SOW (posted invoices in the SOW currency, credit notes negative) exceeds the effective
  (amended) cap by more than cap_tol_pct: S1. At or above warn_pct of the cap: S4 warning with no $.
remediation: Credit the overage or get a change order raising the cap.
impact_kind: exposure
impact: round(greatest(billed_net - eff_cap_amount, 0) * fx(sow ccy, as_of), 2)
entity: sow
depends_on: [invoice, sow, amendment, contract, fx_rate]
params:
  cap_tol_pct: 0
  warn_pct: 0.9
--- */
WITH billed AS (
  SELECT i.sow_id, i.currency, max(i.invoice_date) AS last_invoice_date,
         sum(CASE WHEN i.type = 'credit_note' THEN -abs(i.amount_net) ELSE i.amount_net END) AS billed_net
  FROM canon.invoice i
  WHERE i.status NOT IN ('draft', 'cancelled')
  GROUP BY i.sow_id, i.currency),
c AS (
  SELECT se.sow_id, se.correlation_id, se.client_id, se.legal_entity_id, se.currency, se.eff_cap_amount,
         b.billed_net, b.last_invoice_date,
         CASE WHEN b.billed_net > se.eff_cap_amount * (1 + getvariable('cap_tol_pct')) THEN 'S1'
              WHEN b.billed_net >= se.eff_cap_amount * getvariable('warn_pct') THEN 'S4' END AS severity
  FROM chk.sow_effective se
  JOIN billed b ON b.sow_id = se.sow_id AND b.currency = se.currency
  WHERE se.eff_cap_amount IS NOT NULL AND se.eff_cap_amount > 0)
SELECT 'sow' AS entity_type, c.sow_id AS entity_id, c.correlation_id,
       CAST(CASE WHEN c.severity = 'S1' THEN round(greatest(c.billed_net - c.eff_cap_amount, 0) * fx.rate, 2) ELSE 0 END
            AS DECIMAL(18, 2)) AS impact_rc,
       c.client_id, c.sow_id, c.legal_entity_id, c.last_invoice_date AS event_date, c.eff_cap_amount, c.billed_net,
       round(c.billed_net / c.eff_cap_amount, 4) AS consumption, c.severity
FROM c
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = c.currency AND fx.d = ctx.as_of
WHERE c.severity IS NOT NULL
