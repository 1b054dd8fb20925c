/* ---
id: Q2C-072
title: Payment status differs between ERP and CRM
severity: S3
owner: Integration / AR
domain: cash_crm
systems: [ERP, CRM]
description: >
  ERP status from payments applied on or before as_of and credit notes (paid when open <= 0.01,
  partially_paid when something was paid, else open) differs from the CRM status, and the CRM record was
  last synced more than sync_sla_hours before as_of_ts. S2 when CRM shows paid but ERP is not.
remediation: Re-sync payment status to CRM.
impact_kind: cash
stage: crm
impact: round(erp open amount * fx(ccy, invoice_date), 2)
entity: invoice
depends_on: [invoice, payment, crm_invoice_status, fx_rate]
params:
  sync_sla_hours: 24
--- */
WITH erp AS (
  SELECT o.invoice_id, o.open_amount, o.paid, o.currency, o.invoice_date,
         CASE WHEN o.open_amount <= 0.01 THEN 'paid' WHEN o.paid > 0 THEN 'partially_paid' ELSE 'open' END AS erp_status
  FROM chk.invoice_open o)
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,
       CAST(round(greatest(e.open_amount, 0) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       i.erp_invoice_no, e.erp_status, c.status AS crm_status, e.open_amount,
       CASE WHEN lower(c.status) = 'paid' AND e.erp_status <> 'paid' THEN 'S2' END AS severity
FROM erp e
JOIN canon.invoice i ON i.invoice_id = e.invoice_id
JOIN canon.crm_invoice_status c ON c.erp_invoice_no = i.erp_invoice_no
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = e.currency AND fx.d = e.invoice_date
WHERE e.erp_status <> lower(c.status)
  AND c.last_synced_at < ctx.as_of_ts - getvariable('sync_sla_hours') * INTERVAL '1' HOUR
