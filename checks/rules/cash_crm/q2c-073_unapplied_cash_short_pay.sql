/* ---
id: Q2C-073
title: Unapplied cash or short payment
severity: S3
owner: AR
domain: cash_crm
systems: [ERP]
description: >
  unapplied: a payment with no invoice received more than unapplied_days ago. short_pay: a past-due
  invoice with at least one payment whose open amount (gross - payments - credit notes) exceeds short_pay_tol.
  An unapplied payment names its probable invoice when one can tell: the client's only open invoice in the same
  currency whose open amount equals the payment, issued on or before it was received, and no other unapplied
  payment of the client for that amount (else candidate_invoices says how many would fit).
  That invoice's open amount is the same money as the payment (money_piece 'open:<invoice>'), so a payment
  short of the invoice it was meant for is one case counted once, not a payment and again its invoice.
remediation: Apply the cash / chase or settle the short payment (often a disguised dispute).
impact_kind: cash
stage: cash
impact: unapplied round(amount * fx(ccy, received_date), 2); short_pay round(open * fx(ccy, invoice_date), 2)
entity: payment (unapplied) or invoice (short pay)
depends_on: [payment, invoice, fx_rate]
params:
  unapplied_days: 5
  short_pay_tol: 1
--- */
WITH unapplied AS (
  SELECT y.*, count(*) OVER (PARTITION BY y.client_id, y.currency, y.amount) AS twins
  FROM canon.payment y
  CROSS JOIN chk.ctx ctx
  WHERE y.invoice_id IS NULL AND y.received_date <= ctx.as_of
    AND date_diff('day', y.received_date, ctx.as_of) > getvariable('unapplied_days')),
candidates AS (
  SELECT u.payment_id, count(*) AS n, min(o.invoice_id) AS invoice_id, max(u.twins) AS twins
  FROM unapplied u
  JOIN chk.invoice_open o ON o.client_id = u.client_id AND o.currency = u.currency AND o.open_amount = u.amount
   AND o.invoice_date <= u.received_date
  GROUP BY u.payment_id),
probable AS (
  SELECT c.payment_id, c.n, CASE WHEN c.n = 1 AND c.twins = 1 THEN c.invoice_id END AS invoice_id
  FROM candidates c)
SELECT 'payment' AS entity_type, y.payment_id AS entity_id, y.correlation_id,
       CAST(round(y.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       y.client_id, pr.invoice_id, y.legal_entity_id, y.received_date AS event_date, 'unapplied' AS kind,
       y.amount, y.currency, fx.rate AS fx_rate, y.received_date AS fx_date,
       pr.invoice_id AS probable_invoice_id, coalesce(pr.n, 0) AS candidate_invoices,
       CASE WHEN pr.invoice_id IS NOT NULL THEN 'open:' || pr.invoice_id END AS money_piece
FROM unapplied y
LEFT JOIN probable pr ON pr.payment_id = y.payment_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = y.currency AND fx.d = y.received_date
UNION ALL
SELECT 'invoice' AS entity_type, o.invoice_id AS entity_id, i.correlation_id,
       CAST(round(o.open_amount * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       o.client_id, o.invoice_id, o.legal_entity_id, o.due_date AS event_date, 'short_pay' AS kind,
       o.open_amount AS amount, o.currency, fx.rate AS fx_rate, o.invoice_date AS fx_date,
       NULL AS probable_invoice_id, NULL AS candidate_invoices, 'open:' || o.invoice_id AS money_piece
FROM chk.invoice_open o
JOIN canon.invoice i ON i.invoice_id = o.invoice_id
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = o.currency AND fx.d = o.invoice_date
WHERE o.paid > 0 AND o.open_amount > getvariable('short_pay_tol') AND o.due_date < ctx.as_of
