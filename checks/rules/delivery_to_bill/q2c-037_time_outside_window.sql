/* ---
id: Q2C-037
title: Billable time outside the contract window or by an unassigned resource
severity: S3
owner: PM
domain: delivery_to_bill
systems: [PSA, CLM]
description: >
  Billable time dated before the SOW start or after its effective (amended) end date, or booked by a
  resource with no assignment covering the work date (only on projects that use assignments).
remediation: Move the time, extend the SOW by amendment, or add the assignment.
impact_kind: exposure
stage: time
impact: round(hours * contract rate * fx(rate ccy, work_date), 2) (0 without rate)
entity: time_entry
depends_on: [time_entry, project, sow, amendment, contract, assignment, rate_card, fx_rate]
--- */
WITH
-- Coverage as disjoint islands per (project, resource): overlapping assignments merged, so an entry
-- matches at most one island and needs no DISTINCT over millions of entry ids (the cost at tier l).
asg AS (
  SELECT project_id, resource_id, start_date AS lo, coalesce(end_date, DATE '9999-12-31') AS hi
  FROM canon.assignment
  WHERE start_date IS NOT NULL AND coalesce(end_date, DATE '9999-12-31') >= start_date),
reach AS (
  SELECT *, max(hi) OVER (PARTITION BY project_id, resource_id ORDER BY lo, hi
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach_before
  FROM asg),
numbered AS (
  SELECT *, sum(CASE WHEN reach_before IS NULL OR lo > reach_before THEN 1 ELSE 0 END)
              OVER (PARTITION BY project_id, resource_id ORDER BY lo, hi ROWS UNBOUNDED PRECEDING) AS island
  FROM reach),
islands AS (
  SELECT project_id, resource_id, min(lo) AS lo, max(hi) AS hi FROM numbered
  GROUP BY project_id, resource_id, island),
-- Per project (tens of thousands of rows): its SOW's window and whether it uses assignments, so the 20M entries
-- meet one small table instead of project, sow_effective and the assignment projects in turn.
pe AS (
  SELECT p.project_id, p.client_id, p.sow_id, p.legal_entity_id, se.eff_end_date, se.start_date,
         EXISTS (SELECT 1 FROM canon.assignment a WHERE a.project_id = p.project_id) AS uses_asg
  FROM canon.project p
  JOIN chk.sow_effective se ON se.sow_id = p.sow_id),
t AS (
  SELECT t.time_entry_id, t.correlation_id, pe.project_id, pe.client_id, pe.sow_id, pe.legal_entity_id,
         t.resource_id, t.role, t.work_date, t.hours,
         CASE WHEN t.work_date > pe.eff_end_date THEN 'after_end'
              WHEN t.work_date < pe.start_date THEN 'before_start'
              WHEN pe.uses_asg AND cv.project_id IS NULL THEN 'unassigned' END AS issue
  FROM canon.time_entry t
  JOIN pe ON pe.project_id = t.project_id
  LEFT JOIN islands cv
    ON cv.project_id = t.project_id AND cv.resource_id = t.resource_id
   AND t.work_date >= cv.lo AND t.work_date <= cv.hi
  WHERE t.billable),
f AS (  -- the rate only for the failing entries
  SELECT t.*, tr.bill_rate, tr.currency
  FROM t
  LEFT JOIN chk.rate_segment tr ON tr.sow_id = t.sow_id AND tr.role = t.role
                                AND t.work_date >= tr.valid_from AND t.work_date < tr.valid_until
  WHERE t.issue IS NOT NULL)
SELECT 'time_entry' AS entity_type, t.time_entry_id AS entity_id, t.correlation_id,
       CAST(coalesce(round(t.hours * t.bill_rate * fx.rate, 2), 0) AS DECIMAL(18, 2)) AS impact_rc,
       t.client_id, t.sow_id, t.project_id, t.legal_entity_id, t.work_date AS event_date, t.issue,
       t.resource_id, t.hours, t.bill_rate, t.currency, t.hours * t.bill_rate AS amount, fx.rate AS fx_rate,
       t.work_date AS fx_date
FROM f t
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = t.currency AND fx.d = t.work_date
