/* ---
id: Q2C-032b
title: Submitted time awaiting approval beyond SLA
severity: S3
owner: PM
domain: delivery_to_bill
systems: [PSA]
description: Time entries in status 'submitted' for more than sla_approval_days calendar days (from submitted_at, UTC date). One finding per project.
remediation: Approve or reject the time so it can be billed.
impact_kind: cash
stage: time
money: approved_time
impact: >
  amount at stake sum over entries of value_rc, the time that cannot be billed until approved;
  value_rc = round(hours * contract rate * fx(rate ccy, as_of), 2) (0 without rate); expected_loss_rc, the cost of
  the delay, round(sum over entries of value_rc * (age_days - sla_approval_days) * coc / 365, 2). FX evidence when the
  rated entries share one rate currency (amount = sum of hours * contract rate, each entry converted on its own)
entity: project
depends_on: [time_entry, project, sow, rate_card, fx_rate]
params:
  sla_approval_days: 5
--- */
WITH w AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, t.hours,
         CAST(t.submitted_at AS DATE) AS submitted_date, ctx.coc,
         date_diff('day', CAST(t.submitted_at AS DATE), ctx.as_of) AS age_days,
         tr.currency, fx.rate AS fx_rate, ctx.as_of AS fx_date, t.hours * tr.bill_rate AS value,
         coalesce(CAST(round(t.hours * tr.bill_rate * fx.rate, 2) AS DECIMAL(18, 2)), 0) AS value_rc
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.rate_segment tr ON tr.sow_id = p.sow_id AND tr.role = t.role
                                AND t.work_date >= tr.valid_from AND t.work_date < tr.valid_until
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = tr.currency AND fx.d = ctx.as_of
  WHERE t.approval_status = 'submitted'
    AND date_diff('day', CAST(t.submitted_at AS DATE), ctx.as_of) > getvariable('sla_approval_days'))
SELECT 'project' AS entity_type, project_id AS entity_id, min(correlation_id) AS correlation_id,
       CAST(sum(value_rc) AS DECIMAL(18, 2)) AS impact_rc,
       CAST(round(sum(value_rc * (age_days - getvariable('sla_approval_days'))) * min(coc) / 365, 2) AS DECIMAL(18, 2))
         AS expected_loss_rc,
       min(client_id) AS client_id, min(sow_id) AS sow_id, project_id, min(legal_entity_id) AS legal_entity_id,
       min(submitted_date) AS event_date, count(*) AS entries, sum(hours) AS hours, max(age_days) AS oldest_age_days,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN min(currency) END AS currency,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN sum(value) END AS amount,
       CASE WHEN count(DISTINCT currency) = 1 AND count(currency) = count(*) THEN min(fx_rate) END AS fx_rate,
       min(fx_date) AS fx_date
FROM w
GROUP BY project_id
