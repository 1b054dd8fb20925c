/* ---
id: Q2C-020
title: Billable project without billing schedule or contract rates
severity: S2
owner: Billing Ops
domain: billing_setup
systems: [PSA, ERP]
description: >
  An active project more than grace_setup_bd business days after creation has nothing to bill from:
  FF / MILESTONE / RETAINER / MANAGED_SERVICE without billing-schedule lines, or TM / TM_CAP without a
  SOW- or MSA-scope rate card.
remediation: Set up the billing schedule or the contract rate card in the PSA.
impact_kind: cash
stage: schedule
money: schedule
impact: >
  amount at stake base_rc, what cannot be billed without the setup: round(eff_value * fx(ccy, created date), 2) for
  fixed types; for T&M sum of round(hours * STANDARD rate * fx(rate ccy, as_of), 2) over billable time.
  expected_loss_rc, the cost of the delay, round(base_rc * (age_bd - grace_setup_bd) * bd_to_cal * coc / 365, 2).
  FX evidence for fixed types (eff_value at fx_rate on the created date), for T&M when the time has one rate currency
  (amount = sum of hours * STANDARD rate, each entry converted on its own)
entity: project
grace: grace_setup_bd
depends_on: [project, sow, amendment, contract, billing_schedule, rate_card, time_entry, calendar, fx_rate]
params:
  bd_to_cal: 1.4
  grace_setup_bd: 5
--- */
WITH p AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, p.billing_type,
         CAST(p.created_at AS DATE) AS created_date, se.eff_value, se.currency,
         ctx.as_of_bd - b.bd_no AS age_bd, ctx.coc
  FROM canon.project p
  JOIN chk.sow_effective se ON se.sow_id = p.sow_id
  CROSS JOIN chk.ctx ctx
  JOIN chk.bd b ON b.d = CAST(p.created_at AS DATE)
  WHERE p.status = 'active'
    AND ctx.as_of_bd - b.bd_no > getvariable('grace_setup_bd')
    AND ((p.billing_type IN ('FF', 'MILESTONE', 'RETAINER', 'MANAGED_SERVICE')
          AND NOT EXISTS (SELECT 1 FROM canon.billing_schedule bs WHERE bs.project_id = p.project_id))
      OR (p.billing_type IN ('TM', 'TM_CAP')
          AND NOT EXISTS (SELECT 1 FROM chk.rate_candidates r WHERE r.sow_id = p.sow_id AND r.scope IN ('SOW', 'MSA'))))),
tm AS (
  SELECT t.project_id, sum(CAST(round(t.hours * sr.bill_rate * fx.rate, 2) AS DECIMAL(18, 2))) AS wip_rc,
         CASE WHEN count(DISTINCT sr.currency) = 1 THEN min(sr.currency) END AS currency,
         CASE WHEN count(DISTINCT sr.currency) = 1 THEN sum(t.hours * sr.bill_rate) END AS amount,
         CASE WHEN count(DISTINCT sr.currency) = 1 THEN min(fx.rate) END AS fx_rate, min(ctx.as_of) AS fx_date
  FROM canon.time_entry t
  JOIN p ON p.project_id = t.project_id AND p.billing_type IN ('TM', 'TM_CAP')
  JOIN chk.standard_rate sr ON sr.time_entry_id = t.time_entry_id
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = sr.currency AND fx.d = ctx.as_of
  WHERE t.billable
  GROUP BY t.project_id),
v AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, p.billing_type, p.created_date,
         p.age_bd, p.coc,
         CASE WHEN p.billing_type IN ('TM', 'TM_CAP') THEN coalesce(tm.wip_rc, 0)
              ELSE CAST(round(p.eff_value * fx.rate, 2) AS DECIMAL(18, 2)) END AS base_rc,
         CASE WHEN p.billing_type IN ('TM', 'TM_CAP') THEN tm.currency ELSE p.currency END AS currency,
         CASE WHEN p.billing_type IN ('TM', 'TM_CAP') THEN tm.amount ELSE p.eff_value END AS amount,
         CASE WHEN p.billing_type IN ('TM', 'TM_CAP') THEN tm.fx_rate ELSE fx.rate END AS fx_rate,
         CASE WHEN p.billing_type IN ('TM', 'TM_CAP') THEN tm.fx_date ELSE p.created_date END AS fx_date
  FROM p
  LEFT JOIN tm ON tm.project_id = p.project_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = p.currency AND fx.d = p.created_date)
SELECT 'project' AS entity_type, project_id AS entity_id, correlation_id,
       CAST(base_rc AS DECIMAL(18, 2)) AS impact_rc,
       CAST(round(base_rc * (age_bd - getvariable('grace_setup_bd')) * getvariable('bd_to_cal') * coc / 365, 2)
            AS DECIMAL(18, 2)) AS expected_loss_rc,
       client_id, sow_id, project_id, legal_entity_id, created_date AS event_date, billing_type, age_bd,
       currency, amount, fx_rate, fx_date
FROM v
