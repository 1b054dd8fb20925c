/* ---
id: Q2C-055
title: PO missing or different from the contract PO where a PO is required
severity: S3
owner: Billing Ops
domain: bill_compliance
systems: [ERP, CLM]
description: >
  A posted invoice on a SOW that requires a PO (SOW carries a PO number, or the contract has po_required)
  has no PO number, or one different from the SOW's PO.
remediation: Re-issue the invoice with the correct PO before the customer's AP rejects it.
impact_kind: cash
stage: invoice
impact: >
  amount at stake round(amount_gross * fx(ccy, invoice_date), 2), the invoice the customer's AP will hold;
  expected_loss_rc, the cost of the delay, round(that * po_dispute_delay_days * coc / 365, 2)
entity: invoice
depends_on: [invoice, sow, contract, amendment, fx_rate]
params:
  po_dispute_delay_days: 30
--- */
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,
       CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       CAST(round(CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2)) * getvariable('po_dispute_delay_days')
                  * ctx.coc / 365, 2) AS DECIMAL(18, 2)) AS expected_loss_rc,
       i.client_id, se.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       i.po_number, se.po_number AS contract_po, i.currency, i.amount_gross AS amount, fx.rate AS fx_rate,
       i.invoice_date AS fx_date,
       CASE WHEN i.po_number IS NULL THEN 'missing' ELSE 'different' END AS issue
FROM canon.invoice i
JOIN chk.sow_effective se ON se.sow_id = i.sow_id
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
  AND se.eff_po_required
  AND (i.po_number IS NULL OR (se.po_number IS NOT NULL AND i.po_number <> se.po_number))
