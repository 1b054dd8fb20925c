/* ---
id: Q2C-071
title: Invoice amount, currency or due date differs between ERP and CRM
severity: S3
owner: Integration
domain: cash_crm
systems: [ERP, CRM]
description: The CRM invoice-status record (matched on erp_invoice_no) of a non-cancelled invoice shows a different gross amount, currency or due date.
remediation: Re-sync the invoice; fix the mapping if the difference is systematic.
impact_kind: cash
stage: crm
impact: round(abs(amount_gross - crm amount) * fx(ccy, invoice_date), 2) when currencies match, else round(amount_gross * fx, 2)
entity: invoice
depends_on: [invoice, crm_invoice_status, fx_rate]
--- */
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,
       CAST(round(CASE WHEN i.currency = c.currency THEN abs(i.amount_gross - c.amount) ELSE i.amount_gross END
                  * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       i.erp_invoice_no, i.amount_gross, c.amount AS crm_amount, i.currency, c.currency AS crm_currency,
       i.due_date, c.due_date AS crm_due_date,
       CASE WHEN i.currency = c.currency THEN abs(i.amount_gross - c.amount) ELSE i.amount_gross END AS amount,
       fx.rate AS fx_rate, i.invoice_date AS fx_date
FROM canon.invoice i
JOIN canon.crm_invoice_status c ON c.erp_invoice_no = i.erp_invoice_no
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE i.status <> 'cancelled'
  AND (abs(i.amount_gross - c.amount) > 0.01 OR i.currency <> c.currency OR i.due_date <> c.due_date)
