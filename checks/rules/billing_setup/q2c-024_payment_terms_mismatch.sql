/* ---
id: Q2C-024
title: Invoice payment terms differ from contract terms
severity: S3
owner: Billing Ops / Master Data
domain: billing_setup
systems: [ERP, CLM]
description: >
  A non-cancelled invoice's payment_terms_days differs from the SOW's effective terms (SOW, else
  contract). S2 when the invoice terms are longer by 15 days or more.
remediation: Fix the customer master / invoice terms to the contract terms.
impact_kind: cash
stage: invoice
impact: >
  amount at stake amount_rc = round(amount_gross * fx(ccy, invoice_date), 2), the invoice on the wrong terms;
  expected_loss_rc, the cost of the delay, round(amount_rc * greatest(inv_terms - contract_terms, 0) * coc / 365, 2)
entity: invoice
depends_on: [invoice, sow, contract, amendment, fx_rate]
--- */
WITH i AS (
  SELECT i.invoice_id, i.correlation_id, i.client_id, i.sow_id, i.project_id, i.legal_entity_id, i.invoice_date,
         i.payment_terms_days AS inv_terms, se.eff_payment_terms_days AS contract_terms, ctx.coc,
         i.currency, i.amount_gross, fx.rate AS fx_rate,
         CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2)) AS amount_rc
  FROM canon.invoice i
  JOIN chk.sow_effective se ON se.sow_id = i.sow_id
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.type = 'invoice' AND i.status <> 'cancelled'
    AND i.payment_terms_days <> se.eff_payment_terms_days)
SELECT 'invoice' AS entity_type, invoice_id AS entity_id, correlation_id,
       amount_rc AS impact_rc,
       CAST(round(amount_rc * greatest(inv_terms - contract_terms, 0) * coc / 365, 2) AS DECIMAL(18, 2)) AS expected_loss_rc,
       client_id, sow_id, project_id, invoice_id, legal_entity_id, invoice_date AS event_date,
       inv_terms, contract_terms, currency, amount_gross AS amount, fx_rate, invoice_date AS fx_date,
       CASE WHEN inv_terms - contract_terms >= 15 THEN 'S2' END AS severity
FROM i
