/* ---
id: Q2C-064
title: Un-contracted scope growth (hours overrun without a change order)
severity: S3
owner: PM
domain: amendments
systems: [PSA, CLM]
description: >
  FF / MILESTONE / TM_CAP project whose booked hours exceed budget_hours x (1 + overrun_pct) with no
  change order in draft / in_review and none executed in the last recent_co_days days.
remediation: Raise a change order or re-plan the work.
impact_kind: leakage
stage: contract
money: scope
impact: >
  round(overrun_hours * avg_rate * fx(project ccy, as_of), 2); overrun_hours = hours - budget_hours;
  avg_rate = hours-weighted time_entry.cost_rate (FF, MILESTONE) or contract bill rate (TM_CAP)
entity: project
depends_on: [project, time_entry, amendment, sow, rate_card, fx_rate]
params:
  overrun_pct: 0.10
  recent_co_days: 60
--- */
-- Hours and costs are summed per project on the narrow time columns, then the project's wide columns join the
-- few thousand sums (not 9M entries carrying eight project columns into the GROUP BY, the cost at tier l). The
-- outer GROUP BY keeps the original's grouping on the project's columns; sums of sums are the same exact
-- DECIMAL totals.
WITH p AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, p.billing_type, p.currency,
         p.budget_hours
  FROM canon.project p
  WHERE p.billing_type IN ('FF', 'MILESTONE', 'TM_CAP') AND p.budget_hours > 0
    AND NOT EXISTS (SELECT 1 FROM canon.amendment a
                    WHERE a.sow_id = p.sow_id
                      AND (a.status IN ('draft', 'in_review')
                           OR (a.status = 'executed'
                               AND date_diff('day', a.signed_date, getvariable('as_of')) <= getvariable('recent_co_days'))))),
th AS (
  SELECT t.project_id, sum(t.hours) AS hours, sum(t.hours * t.cost_rate) AS cost,
         sum(CASE WHEN t.cost_rate IS NOT NULL THEN t.hours END) AS costed_hours
  FROM canon.time_entry t
  WHERE t.project_id IN (SELECT project_id FROM p)
  GROUP BY t.project_id),
o AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, p.billing_type, p.currency,
         p.budget_hours, sum(th.hours) AS hours, sum(th.cost) / nullif(sum(th.costed_hours), 0) AS avg_cost
  FROM p
  JOIN th ON th.project_id = p.project_id
  GROUP BY p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, p.billing_type, p.currency,
           p.budget_hours
  HAVING sum(th.hours) > p.budget_hours * (1 + getvariable('overrun_pct'))),
b AS (  -- average contract rate, only for the overrun projects (entries without a rate do not count)
  SELECT t.project_id,
         sum(t.hours * tr.bill_rate) / nullif(sum(CASE WHEN tr.bill_rate IS NOT NULL THEN t.hours END), 0) AS avg_bill
  FROM o
  JOIN canon.time_entry t ON t.project_id = o.project_id
  JOIN chk.rate_segment tr ON tr.sow_id = o.sow_id AND tr.role = t.role
                           AND t.work_date >= tr.valid_from AND t.work_date < tr.valid_until
  GROUP BY t.project_id),
h AS (
  SELECT o.*, b.avg_bill FROM o LEFT JOIN b ON b.project_id = o.project_id)
SELECT 'project' AS entity_type, h.project_id AS entity_id, h.correlation_id,
       CAST(coalesce(round((h.hours - h.budget_hours)
                           * CASE WHEN h.billing_type = 'TM_CAP' THEN h.avg_bill ELSE h.avg_cost END * fx.rate, 2), 0)
            AS DECIMAL(18, 2)) AS impact_rc,
       h.client_id, h.sow_id, h.project_id, h.legal_entity_id, h.billing_type, h.budget_hours, h.hours,
       round(h.hours / h.budget_hours - 1, 4) AS overrun_ratio, h.currency,
       (h.hours - h.budget_hours) * CASE WHEN h.billing_type = 'TM_CAP' THEN h.avg_bill ELSE h.avg_cost END AS amount,
       fx.rate AS fx_rate, ctx.as_of AS fx_date
FROM h
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = h.currency AND fx.d = ctx.as_of
