/* ---
id: Q2C-031
title: Milestone invoiced before acceptance
severity: S2
owner: Billing Ops
domain: delivery_to_bill
systems: [PSA, ERP]
description: An acceptance-triggered milestone is billed on a posted invoice dated before its acceptance (or it is not accepted at all).
remediation: Credit the line or obtain the customer's acceptance; check revenue recognised on it.
impact_kind: exposure
stage: invoice
impact: round(line amount * fx(invoice ccy, invoice_date), 2)
entity: invoice_line
depends_on: [milestone, invoice_line, invoice, fx_rate]
--- */
SELECT 'invoice_line' AS entity_type, il.invoice_line_id AS entity_id, i.correlation_id,
       CAST(round(il.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, m.sow_id, coalesce(i.project_id, m.project_id) AS project_id, i.invoice_id, i.legal_entity_id,
       i.invoice_date AS event_date, m.milestone_id, m.accepted_date, il.amount, i.currency, fx.rate AS fx_rate,
       i.invoice_date AS fx_date
FROM canon.milestone m
JOIN canon.invoice_line il ON il.line_type = 'milestone' AND il.source_id = m.milestone_id
JOIN canon.invoice i ON i.invoice_id = il.invoice_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE m.billing_trigger = 'acceptance' AND i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
  AND (m.accepted_date IS NULL OR i.invoice_date < m.accepted_date)
