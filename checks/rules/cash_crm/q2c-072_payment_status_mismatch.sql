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
impact: >
  the amount whose collection CRM misreports, round(x * fx(ccy, invoice_date), 2): where CRM shows more collected
  than the ERP (paid or partially paid against an ERP open / partially paid invoice) x is the ERP open amount, which
  nobody chases; where CRM shows less (open against paid, ...) x is what the ERP has settled (gross - open: payments
  and credit notes), collected cash CRM does not show; the whole gross when the two statuses cannot be ordered
  (CRM cancelled, or the same rank in other words: overdue against open). Ranks: open / overdue 0,
  partially_paid 1, paid / credited 2
entity: invoice
depends_on: [invoice, payment, crm_invoice_status, fx_rate]
params:
  sync_sla_hours: 24
--- */
WITH erp AS (
  SELECT o.invoice_id, o.open_amount, o.paid, o.currency, o.invoice_date, o.amount_gross,
         CASE WHEN o.open_amount <= 0.01 THEN 'paid' WHEN o.paid > 0 THEN 'partially_paid' ELSE 'open' END AS erp_status
  FROM chk.invoice_open o),
m AS (
  SELECT e.*, i.correlation_id, i.client_id, i.sow_id, i.project_id, i.legal_entity_id, i.erp_invoice_no,
         c.status AS crm_status,
         CASE e.erp_status WHEN 'open' THEN 0 WHEN 'partially_paid' THEN 1 ELSE 2 END AS erp_rank,
         CASE lower(c.status) WHEN 'open' THEN 0 WHEN 'overdue' THEN 0 WHEN 'partially_paid' THEN 1
                              WHEN 'paid' THEN 2 WHEN 'credited' THEN 2 END AS crm_rank
  FROM erp e
  JOIN canon.invoice i ON i.invoice_id = e.invoice_id
  JOIN canon.crm_invoice_status c ON c.erp_invoice_no = i.erp_invoice_no
  CROSS JOIN chk.ctx ctx
  WHERE e.erp_status <> lower(c.status)
    AND c.last_synced_at < ctx.as_of_ts - getvariable('sync_sla_hours') * INTERVAL '1' HOUR),
x AS (
  SELECT m.*,
         CASE WHEN m.crm_rank > m.erp_rank THEN greatest(m.open_amount, 0)
              WHEN m.crm_rank < m.erp_rank THEN m.amount_gross - greatest(m.open_amount, 0)
              ELSE m.amount_gross END AS amount
  FROM m)
SELECT 'invoice' AS entity_type, x.invoice_id AS entity_id, x.correlation_id,
       CAST(round(x.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       x.client_id, x.sow_id, x.project_id, x.invoice_id, x.legal_entity_id, x.invoice_date AS event_date,
       x.erp_invoice_no, x.erp_status, x.crm_status, x.open_amount, x.currency, x.amount, fx.rate AS fx_rate,
       x.invoice_date AS fx_date,
       CASE WHEN lower(x.crm_status) = 'paid' AND x.erp_status <> 'paid' THEN 'S2' END AS severity
FROM x
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = x.currency AND fx.d = x.invoice_date
