/* ---
id: Q2C-032
title: Approved billable time never invoiced (unbilled WIP aging)
severity: S3
owner: Billing Ops / PM
domain: delivery_to_bill
systems: [PSA, ERP]
description: >
  Approved, billable, un-invoiced time on TM / TM_CAP projects in closed months (work_date on or before the
  last day of the month before as_of's month; age from the last day of the work month). One finding per project; severity by
  the oldest entry: S3 up to 60 days, S2 61-90, S1 over 90.
remediation: Bill the time in the next run, or write it down with a reason.
impact_kind: leakage
stage: invoice
money: billable_time
impact: >
  amount at stake sum over entries of value_rc, the unbilled WIP; value_rc = round(hours * contract rate * fx(rate ccy, as_of), 2);
  expected_loss_rc round(sum over entries of value_rc * p_leak(age_days), 2), age_days = as_of - last_day(work_date);
  entries without a contract rate are Q2C-023, not here. FX evidence (currency, amount, fx_rate, fx_date) when the
  project's entries share one rate currency: amount is the sum of hours * contract rate in it, each entry converted
  on its own (the cents of the sum of converted entries can differ from amount * fx_rate)
entity: project
depends_on: [time_entry, project, sow, rate_card, fx_rate]
--- */
WITH w AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, t.hours, t.work_date,
         date_diff('day', last_day(t.work_date), ctx.as_of) AS age_days, tr.currency, fx.rate AS fx_rate,
         ctx.as_of AS fx_date, t.hours * tr.bill_rate AS value,
         CAST(round(t.hours * tr.bill_rate * fx.rate, 2) AS DECIMAL(18, 2)) AS value_rc
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id
  JOIN chk.rate_segment tr ON tr.sow_id = p.sow_id AND tr.role = t.role
                           AND t.work_date >= tr.valid_from AND t.work_date < tr.valid_until
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = tr.currency AND fx.d = ctx.as_of
  WHERE p.billing_type IN ('TM', 'TM_CAP')
    AND t.billable AND t.approval_status = 'approved' AND t.invoice_line_id IS NULL
    AND t.work_date < date_trunc('month', ctx.as_of)),
a AS (
  SELECT w.*, w.value_rc * pl.p AS leak_rc
  FROM w JOIN chk.p_leak pl ON w.age_days BETWEEN pl.lo AND pl.hi)
SELECT 'project' AS entity_type, project_id AS entity_id, min(correlation_id) AS correlation_id,
       CAST(sum(value_rc) AS DECIMAL(18, 2)) AS impact_rc,
       CAST(round(sum(leak_rc), 2) AS DECIMAL(18, 2)) AS expected_loss_rc, min(client_id) AS client_id, min(sow_id) AS sow_id,
       project_id, min(legal_entity_id) AS legal_entity_id, min(work_date) AS event_date,
       sum(hours) AS hours, max(age_days) AS age_days,
       CASE WHEN count(DISTINCT currency) = 1 THEN min(currency) END AS currency,
       CASE WHEN count(DISTINCT currency) = 1 THEN sum(value) END AS amount,
       CASE WHEN count(DISTINCT currency) = 1 THEN min(fx_rate) END AS fx_rate, min(fx_date) AS fx_date,
       CASE WHEN max(age_days) > 90 THEN 'S1' WHEN max(age_days) > 60 THEN 'S2' ELSE 'S3' END AS severity
FROM a
GROUP BY project_id
