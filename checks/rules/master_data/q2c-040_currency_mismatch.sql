/* ---
id: Q2C-040
title: Currency mismatch between SOW and project
severity: S2
owner: MDM / Billing Ops
domain: master_data
systems: [CLM, PSA, ERP]
description: >
  A non-cancelled project whose currency differs from its SOW's, unless the SOW allows multi-currency
  billing. (Invoices in a non-contract currency are Q2C-052.)
remediation: Fix the project currency before it generates invoices.
impact_kind: exposure
stage: contract
impact: sum over the project's non-cancelled invoices of round(amount_gross * fx(ccy, invoice_date), 2) (0 when none)
entity: project
depends_on: [project, sow, invoice, fx_rate]
--- */
WITH inv AS (
  SELECT i.project_id, sum(CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2))) AS invoiced_rc
  FROM canon.invoice i
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.status <> 'cancelled' AND i.type = 'invoice'
  GROUP BY i.project_id)
SELECT 'project' AS entity_type, p.project_id AS entity_id, p.correlation_id,
       CAST(coalesce(inv.invoiced_rc, 0) AS DECIMAL(18, 2)) AS impact_rc,
       p.client_id, s.sow_id, p.project_id, p.legal_entity_id, p.start_date AS event_date,
       s.currency AS sow_currency, p.currency AS project_currency
FROM canon.project p
JOIN canon.sow s ON s.sow_id = p.sow_id
LEFT JOIN inv ON inv.project_id = p.project_id
WHERE coalesce(p.status, '') <> 'cancelled'
  AND NOT coalesce(s.multi_currency_billing, false)
  AND p.currency <> s.currency
