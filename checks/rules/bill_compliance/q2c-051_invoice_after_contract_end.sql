/* ---
id: Q2C-051
title: Invoice for service after contract end
severity: S2
owner: Billing Ops / Deal Desk
domain: bill_compliance
systems: [ERP, CLM]
description: >
  A line on a posted invoice whose service period starts (else the invoice date) more than grace_end_days
  after the SOW's effective (amended) end date.
remediation: Get the extension amendment executed and propagated, or credit the line.
impact_kind: exposure
stage: invoice
impact: round(line amount * fx(invoice ccy, invoice_date), 2)
entity: invoice_line
depends_on: [invoice, invoice_line, sow, amendment, contract, fx_rate]
params:
  grace_end_days: 0
--- */
SELECT 'invoice_line' AS entity_type, il.invoice_line_id AS entity_id, i.correlation_id,
       CAST(round(il.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, se.sow_id, i.project_id, i.invoice_id, i.legal_entity_id,
       coalesce(il.period_start, i.invoice_date) AS event_date, il.period_start, il.period_end,
       se.eff_end_date, il.amount, i.currency, fx.rate AS fx_rate, i.invoice_date AS fx_date
FROM canon.invoice i
JOIN canon.invoice_line il ON il.invoice_id = i.invoice_id
JOIN chk.sow_effective se ON se.sow_id = i.sow_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE i.status NOT IN ('draft', 'cancelled') AND i.type = 'invoice'
  AND date_diff('day', se.eff_end_date, coalesce(il.period_start, i.invoice_date)) > getvariable('grace_end_days')
