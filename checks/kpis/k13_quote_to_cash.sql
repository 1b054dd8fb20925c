/* ---
id: K13
title: Quote-to-cash cycle time
description: >
  Quote-to-cash per SOW in days: opportunity close -> first cash received on the SOW's invoices, and the stages
  close -> signature, signature -> first project, project -> first billable time, first billable time -> first
  invoice, first invoice -> first cash. Medians and the end-to-end P90.
--- */
-- each stage's first date per SOW as a grouped join, not a subquery per SOW: PostgreSQL and Spark run a correlated
-- subquery once per outer row (DuckDB decorrelates it), which at tier m kept one engine busy for over 10 minutes
WITH fp AS (
  SELECT sow_id, min(CAST(created_at AS DATE)) AS first_project FROM canon.project GROUP BY sow_id),
ft AS (
  SELECT p.sow_id, min(t.work_date) AS first_time
  FROM canon.time_entry t JOIN canon.project p ON p.project_id = t.project_id
  WHERE t.billable GROUP BY p.sow_id),
fi AS (
  SELECT sow_id, min(invoice_date) AS first_invoice FROM canon.invoice
  WHERE type = 'invoice' AND status NOT IN ('draft', 'cancelled') GROUP BY sow_id),
fc AS (
  SELECT i.sow_id, min(y.received_date) AS first_cash
  FROM canon.payment y JOIN canon.invoice i ON i.invoice_id = y.invoice_id
  WHERE y.received_date <= getvariable('as_of') GROUP BY i.sow_id),
s AS (
  SELECT s.sow_id, o.close_date, s.signed_date, fp.first_project, ft.first_time, fi.first_invoice, fc.first_cash
  FROM canon.sow s JOIN canon.opportunity o ON o.opportunity_id = s.opportunity_id
  LEFT JOIN fp ON fp.sow_id = s.sow_id
  LEFT JOIN ft ON ft.sow_id = s.sow_id
  LEFT JOIN fi ON fi.sow_id = s.sow_id
  LEFT JOIN fc ON fc.sow_id = s.sow_id
  WHERE s.status IN ('executed', 'completed')),
st AS (
  SELECT 'close_to_signature' AS stage, date_diff('day', close_date, signed_date) AS days FROM s
  UNION ALL SELECT 'signature_to_project', date_diff('day', signed_date, first_project) FROM s
  UNION ALL SELECT 'project_to_first_time', date_diff('day', first_project, first_time) FROM s
  UNION ALL SELECT 'first_time_to_invoice', date_diff('day', first_time, first_invoice) FROM s
  UNION ALL SELECT 'invoice_to_cash', date_diff('day', first_invoice, first_cash) FROM s
  UNION ALL SELECT 'quote_to_cash', date_diff('day', close_date, first_cash) FROM s)
SELECT 'K13' AS kpi_id, stage || '_median' AS name, CAST(quantile_cont(days, 0.5) AS DOUBLE) AS value, 'days' AS unit,
       'total' AS slice_kind, 'all' AS slice_value FROM st GROUP BY stage
UNION ALL SELECT 'K13', 'quote_to_cash_p90', CAST(quantile_cont(days, 0.9) AS DOUBLE), 'days', 'total', 'all'
FROM st WHERE stage = 'quote_to_cash'
