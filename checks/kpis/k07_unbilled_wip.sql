/* ---
id: K07
title: Unbilled WIP and WIP days
description: >
  Unbilled WIP (USD at as_of): approved billable un-invoiced T&M time x contract rate + approved billable
  un-invoiced expenses on re-billable SOWs x (1 + markup) + accepted un-invoiced milestones + fixed/retainer
  schedule lines due and not invoiced; WIP days = WIP / (billings of the trailing 90 days / 90).
--- */
WITH w AS (
  SELECT p.practice, t.hours * tr.bill_rate AS amount, tr.currency
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id
  JOIN chk.rate_segment tr ON tr.sow_id = p.sow_id AND tr.role = t.role
                           AND t.work_date >= tr.valid_from AND t.work_date < tr.valid_until
  WHERE p.billing_type IN ('TM', 'TM_CAP') AND t.billable AND t.approval_status = 'approved'
    AND t.invoice_line_id IS NULL AND t.work_date <= getvariable('as_of')
  UNION ALL
  SELECT p.practice, e.amount * (1 + coalesce(se.expense_markup_pct, 0)), e.currency
  FROM canon.expense e JOIN canon.project p ON p.project_id = e.project_id
  JOIN chk.sow_effective se ON se.sow_id = p.sow_id
  WHERE e.billable AND e.approval_status = 'approved' AND e.invoice_line_id IS NULL AND se.expense_rebillable
  UNION ALL
  SELECT p.practice, m.amount, s.currency
  FROM canon.milestone m JOIN canon.sow s ON s.sow_id = m.sow_id LEFT JOIN canon.project p ON p.project_id = m.project_id
  WHERE m.accepted_date <= getvariable('as_of')
    AND NOT EXISTS (SELECT 1 FROM canon.invoice_line il JOIN canon.invoice i ON i.invoice_id = il.invoice_id
                    WHERE il.line_type = 'milestone' AND il.source_id = m.milestone_id AND i.status NOT IN ('draft', 'cancelled'))
  UNION ALL
  SELECT p.practice, b.amount, b.currency
  FROM canon.billing_schedule b LEFT JOIN canon.project p ON p.project_id = b.project_id
  WHERE b.line_type IN ('fixed', 'retainer') AND b.bill_date <= getvariable('as_of')
    AND NOT EXISTS (SELECT 1 FROM canon.invoice_line il JOIN canon.invoice i ON i.invoice_id = il.invoice_id
                    WHERE il.source_id = b.schedule_line_id AND i.status NOT IN ('draft', 'cancelled'))),
wr AS (
  SELECT w.practice, CAST(round(w.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS wip_rc
  FROM w CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = w.currency AND fx.d = ctx.as_of),
bil AS (
  SELECT sum(CAST(round(i.amount_net * fx.rate, 2) AS DECIMAL(18, 2))) AS billed_90
  FROM canon.invoice i
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled') AND i.invoice_date <= getvariable('as_of')
    AND date_diff('day', i.invoice_date, getvariable('as_of')) < 90)
SELECT 'K07' AS kpi_id, 'unbilled_wip' AS name, CAST(coalesce(sum(wip_rc), 0) AS DOUBLE) AS value, 'USD' AS unit,
       'total' AS slice_kind, 'all' AS slice_value FROM wr
UNION ALL SELECT 'K07', 'unbilled_wip', CAST(sum(wip_rc) AS DOUBLE), 'USD', 'practice', coalesce(practice, '(none)')
FROM wr GROUP BY practice
UNION ALL SELECT 'K07', 'wip_days', CAST((SELECT sum(wip_rc) FROM wr) / nullif(billed_90 / 90, 0) AS DOUBLE), 'days',
       'total', 'all' FROM bil
