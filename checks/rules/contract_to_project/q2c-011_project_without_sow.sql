/* ---
id: Q2C-011
title: Active project with billable time but no executed SOW
severity: S2
owner: PMO
domain: contract_to_project
systems: [PSA, CLM]
description: An active project carries billable time but its SOW is missing or not executed/completed.
remediation: Get the SOW executed and linked, or mark the project / time non-billable.
impact_kind: exposure
stage: project
money: billable_time
impact: >
  sum over billable entries of round(hours * STANDARD rate * fx(rate ccy, as_of), 2), the role's standard card in
  the project currency first (0 where no standard rate)
entity: project
depends_on: [project, time_entry, sow, rate_card, fx_rate]
--- */
WITH w AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, t.hours, t.work_date,
         s.status AS sow_status,
         sr.currency, fx.rate AS fx_rate, ctx.as_of AS fx_date, t.hours * sr.bill_rate AS value,
         coalesce(CAST(round(t.hours * sr.bill_rate * fx.rate, 2) AS DECIMAL(18, 2)), 0) AS value_rc
  FROM canon.project p
  JOIN canon.time_entry t ON t.project_id = p.project_id AND t.billable
  CROSS JOIN chk.ctx ctx
  LEFT JOIN canon.sow s ON s.sow_id = p.sow_id
  LEFT JOIN chk.standard_rate sr ON sr.time_entry_id = t.time_entry_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = sr.currency AND fx.d = ctx.as_of
  WHERE p.status = 'active'
    AND (s.sow_id IS NULL OR s.status NOT IN ('executed', 'completed')))
SELECT 'project' AS entity_type, project_id AS entity_id, min(correlation_id) AS correlation_id,
       CAST(sum(value_rc) AS DECIMAL(18, 2)) AS impact_rc, min(client_id) AS client_id,
       min(sow_id) AS sow_id, project_id, min(legal_entity_id) AS legal_entity_id,
       min(work_date) AS event_date, min(sow_status) AS sow_status, sum(hours) AS billable_hours,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN min(currency) END AS currency,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN sum(value) END AS amount,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN min(fx_rate) END AS fx_rate,
       min(fx_date) AS fx_date
FROM w
GROUP BY project_id
