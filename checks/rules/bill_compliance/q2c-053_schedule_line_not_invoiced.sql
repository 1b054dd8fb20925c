/* ---
id: Q2C-053
title: Fixed-fee / retainer schedule line due but not invoiced, or invoiced at a different amount
severity: S2
owner: Billing Ops
domain: bill_compliance
systems: [ERP, PSA]
description: >
  A 'fixed' or 'retainer' billing-schedule line with bill_date more than grace_sched_bd business days
  before as_of has no line (fixed/retainer/milestone, source_id = schedule_line_id) on a posted invoice,
  or the posted lines sum to a different amount.
remediation: Invoice the schedule line, or correct the invoiced amount.
impact_kind: leakage
stage: invoice
money: schedule
impact: >
  not_invoiced: amount at stake round(amount * fx(ccy, bill_date), 2), expected_loss_rc round(that * p_leak(as_of -
  bill_date), 2); amount_mismatch: amount at stake round(abs(invoiced - amount) * fx(ccy, bill_date), 2), no estimate.
  The local `amount` evidence is the scheduled amount or the difference, converted at fx_rate on fx_date
entity: schedule_line
grace: grace_sched_bd
depends_on: [billing_schedule, invoice_line, invoice, calendar, fx_rate]
params:
  grace_sched_bd: 3
--- */
WITH inv AS (
  SELECT il.source_id, sum(il.amount) AS invoiced
  FROM canon.invoice_line il
  JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  WHERE il.line_type IN ('fixed', 'retainer', 'milestone') AND i.type = 'invoice'
    AND i.status NOT IN ('draft', 'cancelled')
  GROUP BY il.source_id),
b AS (
  SELECT bs.schedule_line_id, bs.correlation_id, bs.sow_id, bs.project_id, bs.bill_date, bs.amount, bs.currency,
         inv.invoiced, ctx.as_of_bd - cal.bd_no AS age_bd, date_diff('day', bs.bill_date, ctx.as_of) AS age_days,
         CASE WHEN inv.source_id IS NULL THEN 'not_invoiced' ELSE 'amount_mismatch' END AS issue
  FROM canon.billing_schedule bs
  CROSS JOIN chk.ctx ctx
  JOIN chk.bd cal ON cal.d = bs.bill_date
  LEFT JOIN inv ON inv.source_id = bs.schedule_line_id
  WHERE bs.line_type IN ('fixed', 'retainer')
    AND ctx.as_of_bd - cal.bd_no > getvariable('grace_sched_bd')
    AND (inv.source_id IS NULL OR abs(inv.invoiced - bs.amount) > 0.01))
SELECT 'schedule_line' AS entity_type, b.schedule_line_id AS entity_id, b.correlation_id,
       CAST(CASE WHEN b.issue = 'not_invoiced' THEN round(b.amount * fx.rate, 2)
                 ELSE round(abs(b.invoiced - b.amount) * fx.rate, 2) END AS DECIMAL(18, 2)) AS impact_rc,
       CAST(CASE WHEN b.issue = 'not_invoiced' THEN round(CAST(round(b.amount * fx.rate, 2) AS DECIMAL(18, 2)) * pl.p, 2)
            END AS DECIMAL(18, 2)) AS expected_loss_rc,
       s.client_id, b.sow_id, b.project_id, s.legal_entity_id, b.bill_date AS event_date, b.issue,
       b.amount AS scheduled, b.invoiced, b.currency,
       CASE WHEN b.issue = 'not_invoiced' THEN b.amount ELSE abs(b.invoiced - b.amount) END AS amount,
       fx.rate AS fx_rate, b.bill_date AS fx_date, b.age_bd, b.age_days,
       CASE WHEN b.issue = 'not_invoiced' THEN pl.p END AS p_leak
FROM b
LEFT JOIN canon.sow s ON s.sow_id = b.sow_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = b.currency AND fx.d = b.bill_date
JOIN chk.p_leak pl ON b.age_days BETWEEN pl.lo AND pl.hi
