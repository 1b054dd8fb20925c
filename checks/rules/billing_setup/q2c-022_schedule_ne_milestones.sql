/* ---
id: Q2C-022
title: Billing schedule differs from the CLM milestone plan
severity: S3
owner: Billing Ops
domain: billing_setup
systems: [PSA, ERP, CLM]
description: >
  A CLM milestone has no billing-schedule line, a different scheduled amount (sum of its lines), or —
  for date-triggered milestones — a bill date more than date_tol_days_022 from the due date. Only SOWs that
  have a (non-cancelled) project: a billing schedule lives on the project, and a SOW without one is Q2C-010.
remediation: Align the billing schedule with the contract's milestone plan.
impact_kind: leakage
stage: schedule
money: milestones
impact: round(amount * fx(sow ccy, due_date), 2) when missing; round(abs(amount - scheduled) * fx, 2) on drift; 0 for date-only drift
entity: milestone
depends_on: [milestone, billing_schedule, sow, fx_rate]
params:
  date_tol_days_022: 15
--- */
WITH b AS (
  SELECT bs.milestone_id, sum(bs.amount) AS sched_amount, min(bs.bill_date) AS bill_date
  FROM canon.billing_schedule bs
  WHERE bs.milestone_id IS NOT NULL
  GROUP BY bs.milestone_id),
m AS (
  SELECT m.milestone_id, m.sow_id, m.project_id, m.correlation_id, m.amount, m.due_date, m.billing_trigger,
         s.client_id, s.legal_entity_id, s.currency, b.sched_amount, b.bill_date,
         CASE WHEN b.milestone_id IS NULL THEN 'missing_line'
              WHEN abs(b.sched_amount - m.amount) > 0.01 THEN 'amount_drift'
              WHEN m.billing_trigger = 'date'
               AND abs(date_diff('day', m.due_date, b.bill_date)) > getvariable('date_tol_days_022') THEN 'date_drift'
         END AS issue
  FROM canon.milestone m
  JOIN canon.sow s ON s.sow_id = m.sow_id
  LEFT JOIN b ON b.milestone_id = m.milestone_id
  WHERE coalesce(m.status, '') <> 'cancelled'
    AND EXISTS (SELECT 1 FROM canon.project p WHERE p.sow_id = m.sow_id AND coalesce(p.status, '') <> 'cancelled'))
SELECT 'milestone' AS entity_type, m.milestone_id AS entity_id, m.correlation_id,
       CAST(CASE m.issue WHEN 'missing_line' THEN round(m.amount * fx.rate, 2)
                         WHEN 'amount_drift' THEN round(abs(m.amount - m.sched_amount) * fx.rate, 2)
                         ELSE 0 END AS DECIMAL(18, 2)) AS impact_rc,
       m.client_id, m.sow_id, m.project_id, m.legal_entity_id, m.due_date AS event_date, m.issue,
       m.amount AS clm_amount, m.sched_amount, m.bill_date, m.currency,
       CASE m.issue WHEN 'missing_line' THEN m.amount WHEN 'amount_drift' THEN abs(m.amount - m.sched_amount) ELSE 0 END
         AS amount,
       fx.rate AS fx_rate, m.due_date AS fx_date
FROM m
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = m.currency AND fx.d = m.due_date
WHERE m.issue IS NOT NULL
