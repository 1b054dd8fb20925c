/* ---
id: Q2C-075
title: Credit note without reason code or source invoice
severity: S3
owner: Controller
domain: cash_crm
systems: [ERP]
description: A non-cancelled credit note with no credit_reason_code or no source_ref (the invoice it credits).
remediation: Record the reason and link the credited invoice.
impact_kind: compliance
stage: invoice
impact: round(abs(amount_net) * fx(ccy, invoice_date), 2)
entity: invoice (the credit note)
depends_on: [invoice, fx_rate]
--- */
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,
       CAST(round(abs(i.amount_net) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       i.credit_reason_code, i.source_ref, i.amount_net, i.currency, abs(i.amount_net) AS amount, fx.rate AS fx_rate,
       i.invoice_date AS fx_date
FROM canon.invoice i
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE i.type = 'credit_note' AND i.status <> 'cancelled'
  AND (i.credit_reason_code IS NULL OR i.source_ref IS NULL)
