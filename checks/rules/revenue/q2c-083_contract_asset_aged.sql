/* ---
id: Q2C-083
title: Contract asset (unbilled receivable) aged beyond N days
severity: S2
owner: Revenue Accounting / Billing Ops
domain: revenue
systems: [ERP]
description: >
  Revenue to date on a SOW exceeds net billing (posted invoices in the SOW currency, credit notes
  negative) and the last invoice (else the first revenue period) is more than ca_age_days old.
remediation: Invoice the earned amount or review the revenue measure.
impact_kind: leakage
stage: invoice
money: revenue
impact: >
  amount at stake round(contract_asset * fx(sow ccy, as_of), 2), the unbilled receivable; expected_loss_rc
  round(that * p_leak(days since last bill), 2)
entity: sow
depends_on: [revenue_schedule, invoice, sow, fx_rate]
params:
  ca_age_days: 90
--- */
WITH rev AS (
  SELECT rs.sow_id, sum(rs.amount) AS rev_cum, min(rs.period) AS first_period
  FROM canon.revenue_schedule rs WHERE rs.period <= getvariable('as_of') GROUP BY rs.sow_id),
bil AS (
  SELECT i.sow_id, i.currency,
         sum(CASE WHEN i.type = 'credit_note' THEN -abs(i.amount_net) ELSE i.amount_net END) AS bill_cum,
         max(CASE WHEN i.type = 'invoice' THEN i.invoice_date END) AS last_invoice
  FROM canon.invoice i
  WHERE i.status NOT IN ('draft', 'cancelled') AND i.invoice_date <= getvariable('as_of')
  GROUP BY i.sow_id, i.currency),
ca AS (
  SELECT s.sow_id, s.correlation_id, s.client_id, s.legal_entity_id, s.currency, r.rev_cum,
         coalesce(b.bill_cum, 0) AS bill_cum, r.rev_cum - coalesce(b.bill_cum, 0) AS contract_asset,
         coalesce(b.last_invoice, r.first_period) AS since,
         date_diff('day', coalesce(b.last_invoice, r.first_period), getvariable('as_of')) AS age_days
  FROM rev r
  JOIN canon.sow s ON s.sow_id = r.sow_id
  LEFT JOIN bil b ON b.sow_id = r.sow_id AND b.currency = s.currency)
SELECT 'sow' AS entity_type, ca.sow_id AS entity_id, ca.correlation_id,
       CAST(round(ca.contract_asset * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       CAST(round(CAST(round(ca.contract_asset * fx.rate, 2) AS DECIMAL(18, 2)) * pl.p, 2) AS DECIMAL(18, 2))
         AS expected_loss_rc,
       ca.client_id, ca.sow_id, ca.legal_entity_id, ca.since AS event_date, ca.rev_cum, ca.bill_cum,
       ca.contract_asset, ca.currency, ca.contract_asset AS amount, fx.rate AS fx_rate, ctx.as_of AS fx_date, ca.age_days, pl.p AS p_leak
FROM ca
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = ca.currency AND fx.d = ctx.as_of
JOIN chk.p_leak pl ON ca.age_days BETWEEN pl.lo AND pl.hi
WHERE ca.contract_asset > 0.01 AND ca.age_days > getvariable('ca_age_days')
