/* ---
id: Q2C-052
title: Invoice currency or client differs from the contract
severity: S2
owner: Billing Ops
domain: bill_compliance
systems: [ERP, CLM]
description: >
  A non-cancelled invoice in a currency other than the SOW's (unless the SOW allows multi-currency
  billing) or to a client other than the SOW's client. Legal-entity mismatches are Q2C-041.
remediation: Credit and re-issue the invoice in the contract currency / to the contracting client.
impact_kind: exposure
stage: invoice
impact: round(amount_gross * fx(invoice ccy, invoice_date), 2)
entity: invoice
depends_on: [invoice, sow, amendment, contract, fx_rate]
--- */
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,
       CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, se.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       i.currency, se.currency AS contract_ccy, se.client_id AS contract_client_id,
       concat_ws(',', CASE WHEN i.currency <> se.currency AND NOT coalesce(se.multi_currency_billing, false)
                           THEN 'currency' END,
                      CASE WHEN i.client_id <> se.client_id THEN 'client' END) AS issue,
       i.amount_gross AS amount, fx.rate AS fx_rate, i.invoice_date AS fx_date
FROM canon.invoice i
JOIN chk.sow_effective se ON se.sow_id = i.sow_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE i.status <> 'cancelled'
  AND ((i.currency <> se.currency AND NOT coalesce(se.multi_currency_billing, false))
       OR i.client_id <> se.client_id)
