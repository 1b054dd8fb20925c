/* ---
id: Q2C-070
title: ERP posted invoice missing in CRM after sync SLA
severity: S3
owner: Integration / RevOps
domain: cash_crm
systems: [ERP, CRM]
description: A posted / paid / partially paid invoice (type invoice; credit notes are not synced) posted more than sync_sla_hours before as_of_ts has no CRM invoice-status record (by erp_invoice_no).
remediation: Re-sync the invoice to CRM; check the integration event for its correlation ID.
impact_kind: cash
stage: crm
impact: round(amount_gross * fx(ccy, invoice_date), 2)
entity: invoice
depends_on: [invoice, crm_invoice_status, fx_rate]
params:
  sync_sla_hours: 24
--- */
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,
       CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       i.erp_invoice_no, i.posted_at, i.currency, i.amount_gross AS amount,
       fx.rate AS fx_rate, i.invoice_date AS fx_date
FROM canon.invoice i
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE i.type = 'invoice' AND i.status IN ('posted', 'paid', 'partially_paid')
  AND i.posted_at < ctx.as_of_ts - getvariable('sync_sla_hours') * INTERVAL '1' HOUR
  AND NOT EXISTS (SELECT 1 FROM canon.crm_invoice_status c WHERE c.erp_invoice_no = i.erp_invoice_no)
