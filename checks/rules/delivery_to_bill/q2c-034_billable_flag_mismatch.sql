/* ---
id: Q2C-034
title: Billable-flag mismatch (non-billable time on a billable task)
severity: S3
owner: PM
domain: delivery_to_bill
systems: [PSA]
description: On TM / TM_CAP projects, more than min_hours_034 of non-billable time booked to a billable task.
remediation: "Confirm with the PM: fix the flag, or record a write-down with a reason."
impact_kind: leakage
stage: time
money: flagged_time
impact: sum of round(hours * contract rate * fx(rate ccy, as_of), 2) (0 without rate)
entity: task
depends_on: [time_entry, task, project, sow, rate_card, fx_rate]
params:
  min_hours_034: 4
--- */
WITH w AS (
  SELECT t.task_id, p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, t.hours, t.work_date,
         tr.currency, fx.rate AS fx_rate, ctx.as_of AS fx_date, t.hours * tr.bill_rate AS value,
         coalesce(CAST(round(t.hours * tr.bill_rate * fx.rate, 2) AS DECIMAL(18, 2)), 0) AS value_rc
  FROM canon.time_entry t
  JOIN canon.task k ON k.task_id = t.task_id
  JOIN canon.project p ON p.project_id = t.project_id
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.rate_segment tr ON tr.sow_id = p.sow_id AND tr.role = t.role
                                AND t.work_date >= tr.valid_from AND t.work_date < tr.valid_until
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = tr.currency AND fx.d = ctx.as_of
  WHERE p.billing_type IN ('TM', 'TM_CAP') AND k.billable AND NOT t.billable)
SELECT 'task' AS entity_type, task_id AS entity_id, min(correlation_id) AS correlation_id,
       CAST(sum(value_rc) AS DECIMAL(18, 2)) AS impact_rc, min(client_id) AS client_id, min(sow_id) AS sow_id,
       min(project_id) AS project_id, min(legal_entity_id) AS legal_entity_id, min(work_date) AS event_date,
       sum(hours) AS nonbill_hours,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN min(currency) END AS currency,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN sum(value) END AS amount,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN min(fx_rate) END AS fx_rate,
       min(fx_date) AS fx_date
FROM w
GROUP BY task_id
HAVING sum(hours) > getvariable('min_hours_034')
