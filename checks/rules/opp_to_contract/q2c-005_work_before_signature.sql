/* ---
id: Q2C-005
title: Work started before signature without work-at-risk approval
severity: S2
owner: PMO + Deal Desk
domain: opp_to_contract
systems: [CLM, PSA]
description: Billable time on a project dated before its SOW was signed (or the SOW is unsigned), and the SOW has no work-at-risk approval.
remediation: Get the SOW signed or a work-at-risk approval; stop staffing until then.
impact_kind: exposure
impact: sum over pre-signature billable entries of round(hours * contract rate * fx(rate ccy, as_of), 2) (0 where no rate)
entity: project
depends_on: [time_entry, project, sow, rate_card, fx_rate]
--- */
WITH w AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, t.work_date, t.hours,
         s.signed_date,
         coalesce(CAST(round(t.hours * tr.bill_rate * fx.rate, 2) AS DECIMAL(18, 2)), 0) AS value_rc
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id
  JOIN canon.sow s ON s.sow_id = p.sow_id
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.time_rate tr ON tr.time_entry_id = t.time_entry_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = tr.currency AND fx.d = ctx.as_of
  WHERE t.billable
    AND (s.signed_date IS NULL OR t.work_date < s.signed_date)
    AND NOT coalesce(s.work_at_risk_approved, false))
SELECT 'project' AS entity_type, project_id AS entity_id, min(correlation_id) AS correlation_id,
       CAST(sum(value_rc) AS DECIMAL(18, 2)) AS impact_rc, min(client_id) AS client_id, min(sow_id) AS sow_id,
       project_id, min(legal_entity_id) AS legal_entity_id, min(work_date) AS event_date,
       min(signed_date) AS signed_date, sum(hours) AS hours_before_signature
FROM w
GROUP BY project_id
