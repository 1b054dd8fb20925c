/* ---
id: Q2C-076
title: Cash applied across client or legal entity
severity: S2
owner: AR
domain: cash_crm
systems: [ERP]
description: A payment applied to an invoice of a different client or received by a different legal entity than the one that invoiced.
remediation: Re-apply the cash or book the intercompany settlement.
impact_kind: exposure
stage: cash
impact: round(payment amount * fx(ccy, received_date), 2)
entity: payment
depends_on: [payment, invoice, fx_rate]
--- */
SELECT 'payment' AS entity_type, y.payment_id AS entity_id, y.correlation_id,
       CAST(round(y.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, y.received_date AS event_date,
       y.client_id AS payer_client_id, y.legal_entity_id AS receiving_le, y.amount, y.currency, fx.rate AS fx_rate,
       y.received_date AS fx_date
FROM canon.payment y
JOIN canon.invoice i ON i.invoice_id = y.invoice_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = y.currency AND fx.d = y.received_date
WHERE y.client_id <> i.client_id OR y.legal_entity_id <> i.legal_entity_id
