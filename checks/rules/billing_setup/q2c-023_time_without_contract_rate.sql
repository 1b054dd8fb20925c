/* ---
id: Q2C-023
title: T&M time with no contract rate (or fallback to the standard rate)
severity: S2
owner: Deal Desk / Billing Ops
domain: billing_setup
systems: [PSA, CLM]
description: >
  Billable time on a TM / TM_CAP project whose role has no SOW- or MSA-scope rate on the work date
  (no rate at all, or only a STANDARD rate). One finding per project and role.
remediation: Add the missing role to the contract rate card (or an amendment) before billing.
impact_kind: leakage
stage: schedule
money: billable_time
impact: sum of round(hours * STANDARD rate * fx(rate ccy, work_date), 2) (0 for entries with no standard rate)
entity: project_role (project_id:role)
depends_on: [time_entry, project, sow, rate_card, fx_rate]
--- */
WITH t AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, t.role, t.hours, t.work_date,
         CASE WHEN tr.scope = 'STANDARD' THEN 'standard_rate_fallback' ELSE 'no_rate' END AS issue,
         coalesce(CAST(round(t.hours * sr.bill_rate * fx.rate, 2) AS DECIMAL(18, 2)), 0) AS value_rc
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id
  LEFT JOIN chk.rate_segment tr ON tr.sow_id = p.sow_id AND tr.role = t.role
                                AND t.work_date >= tr.valid_from AND t.work_date < tr.valid_until
  LEFT JOIN chk.standard_rate_key sr
         ON sr.role = t.role AND sr.work_date = t.work_date AND sr.pccy = coalesce(p.currency, '')
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = sr.currency AND fx.d = t.work_date
  WHERE p.billing_type IN ('TM', 'TM_CAP') AND t.billable
    AND (tr.sow_id IS NULL OR tr.scope = 'STANDARD'))
SELECT 'project_role' AS entity_type, project_id || ':' || coalesce(role, '') AS entity_id,
       min(correlation_id) AS correlation_id, CAST(sum(value_rc) AS DECIMAL(18, 2)) AS impact_rc,
       min(client_id) AS client_id, min(sow_id) AS sow_id, project_id, min(legal_entity_id) AS legal_entity_id,
       min(work_date) AS event_date, role, min(issue) AS issue, sum(hours) AS hours, count(*) AS entries
FROM t
GROUP BY project_id, role
