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
stage: contract
money: billable_time
impact: >
  round(sum(hours * signed rate) * fx(rate ccy, signed_date), 2) over the pre-signature billable entries; the signed
  rate is the SOW-scope rate card row for the role with the earliest valid_from (the rate as signed; 0 without one)
entity: project
depends_on: [time_entry, project, sow, rate_card, fx_rate]
--- */
WITH signed_rate AS (
  SELECT r.sow_id, r.role, r.currency, CAST(round(r.bill_rate * (1 - coalesce(r.discount_pct, 0)), 2) AS DECIMAL(18, 2)) AS bill_rate,
         row_number() OVER (PARTITION BY r.sow_id, r.role ORDER BY r.valid_from, r.rate_card_id) AS rn
  FROM canon.rate_card r
  WHERE r.scope = 'SOW'),
w AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, t.work_date, t.hours,
         s.signed_date, sr.currency, coalesce(t.hours * sr.bill_rate, 0) AS value_ccy
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id
  JOIN canon.sow s ON s.sow_id = p.sow_id
  LEFT JOIN signed_rate sr ON sr.sow_id = s.sow_id AND sr.role = t.role AND sr.rn = 1
  WHERE t.billable
    AND (s.signed_date IS NULL OR t.work_date < s.signed_date)
    AND NOT coalesce(s.work_at_risk_approved, false)),
g AS (
  SELECT project_id, min(correlation_id) AS correlation_id, min(client_id) AS client_id, min(sow_id) AS sow_id,
         min(legal_entity_id) AS legal_entity_id, min(work_date) AS first_work, min(signed_date) AS signed_date,
         min(currency) AS currency, sum(hours) AS hours_before_signature, sum(value_ccy) AS value_ccy
  FROM w
  GROUP BY project_id)
SELECT 'project' AS entity_type, g.project_id AS entity_id, g.correlation_id,
       CAST(coalesce(round(g.value_ccy * fx.rate, 2), 0) AS DECIMAL(18, 2)) AS impact_rc, g.client_id, g.sow_id,
       g.project_id, g.legal_entity_id, g.first_work AS event_date, g.signed_date, g.hours_before_signature,
       g.value_ccy, g.currency, g.value_ccy AS amount, fx.rate AS fx_rate,
       g.signed_date AS fx_date
FROM g
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = g.currency AND fx.d = g.signed_date
