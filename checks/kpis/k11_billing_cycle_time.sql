/* ---
id: K11
title: Billing cycle time
description: >
  Billing cycle time in days: time lines invoice_date - last day of the work month; milestones invoice_date -
  accepted_date; fixed/retainer invoice_date - schedule bill_date; capture lag approved - worked. Time lines
  come from chk.time_line (lines of non-draft, non-cancelled invoices already matched to their entries): no
  second 11M x 20M join on the VARCHAR entry id.
--- */
WITH c AS (
  SELECT 'time' AS kind, date_diff('day', last_day(il.work_date), i.invoice_date) AS days
  FROM chk.time_line il JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  WHERE i.type = 'invoice' AND il.matched
  UNION ALL
  SELECT 'milestone', date_diff('day', m.accepted_date, i.invoice_date)
  FROM canon.invoice_line il JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  JOIN canon.milestone m ON il.line_type = 'milestone' AND m.milestone_id = il.source_id
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled') AND m.accepted_date IS NOT NULL
  UNION ALL
  SELECT 'fixed', date_diff('day', b.bill_date, i.invoice_date)
  FROM canon.invoice_line il JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  JOIN canon.billing_schedule b ON il.line_type IN ('fixed', 'retainer') AND b.schedule_line_id = il.source_id
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
  UNION ALL
  SELECT 'time_capture', date_diff('day', t.work_date, CAST(t.approved_at AS DATE))
  FROM canon.time_entry t WHERE t.approved_at IS NOT NULL),
q AS (
  SELECT kind, quantile_cont(days, 0.5) AS p50, quantile_cont(days, 0.9) AS p90 FROM c GROUP BY kind)
SELECT 'K11' AS kpi_id, 'billing_cycle_median_' || kind AS name, CAST(p50 AS DOUBLE) AS value,
       'days' AS unit, 'total' AS slice_kind, 'all' AS slice_value FROM q
UNION ALL SELECT 'K11', 'billing_cycle_p90_' || kind, CAST(p90 AS DOUBLE), 'days', 'total', 'all'
FROM q
