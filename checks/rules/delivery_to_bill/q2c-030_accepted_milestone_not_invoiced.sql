/* ---
id: Q2C-030
title: Accepted milestone not invoiced within SLA
severity: S2
owner: Billing Ops / PM
domain: delivery_to_bill
systems: [CLM, PSA, ERP]
description: >
  An acceptance-triggered milestone was accepted more than sla_accept_to_invoice_bd business days ago
  and no posted (non-draft, non-cancelled) invoice carries a milestone line for it. S1 after 30 days.
remediation: Raise the milestone invoice.
impact_kind: leakage
stage: invoice
money: milestones
impact: >
  amount at stake round(amount * fx(sow ccy, accepted_date), 2), the milestone's value in reporting currency;
  expected_loss_rc round(that * p_leak(age_days), 2), age_days = as_of - accepted_date
entity: milestone
grace: sla_accept_to_invoice_bd
depends_on: [milestone, sow, invoice_line, invoice, calendar, fx_rate]
params:
  sla_accept_to_invoice_bd: 5
--- */
WITH m AS (
  SELECT m.milestone_id, m.correlation_id, m.sow_id, m.project_id, s.client_id, s.legal_entity_id,
         m.accepted_date, ctx.as_of_bd - b.bd_no AS age_bd, date_diff('day', m.accepted_date, ctx.as_of) AS age_days,
         s.currency, m.amount, fx.rate AS fx_rate, CAST(round(m.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS amount_rc
  FROM canon.milestone m
  JOIN canon.sow s ON s.sow_id = m.sow_id
  CROSS JOIN chk.ctx ctx
  JOIN chk.bd b ON b.d = m.accepted_date
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = s.currency AND fx.d = m.accepted_date
  WHERE m.billing_trigger = 'acceptance' AND m.accepted_date IS NOT NULL AND m.accepted_date <= ctx.as_of
    AND ctx.as_of_bd - b.bd_no > getvariable('sla_accept_to_invoice_bd')
    AND NOT EXISTS (SELECT 1 FROM canon.invoice_line il JOIN canon.invoice i ON i.invoice_id = il.invoice_id
                    WHERE il.line_type = 'milestone' AND il.source_id = m.milestone_id
                      AND i.status NOT IN ('draft', 'cancelled')))
SELECT 'milestone' AS entity_type, m.milestone_id AS entity_id, m.correlation_id,
       m.amount_rc AS impact_rc, CAST(round(m.amount_rc * pl.p, 2) AS DECIMAL(18, 2)) AS expected_loss_rc,
       m.client_id, m.sow_id, m.project_id, m.legal_entity_id, m.accepted_date AS event_date,
       m.currency, m.amount, m.fx_rate, m.accepted_date AS fx_date, m.age_bd, m.age_days, pl.p AS p_leak,
       CASE WHEN m.age_days > 30 THEN 'S1' END AS severity
FROM m
JOIN chk.p_leak pl ON m.age_days BETWEEN pl.lo AND pl.hi
