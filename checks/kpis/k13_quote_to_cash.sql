/* ---
id: K13
title: Quote-to-cash cycle time
description: >
  Quote-to-cash per SOW in days: opportunity close -> first cash received on the SOW's invoices, and the stages
  close -> signature, signature -> first project, project -> first billable time, first billable time -> first
  invoice, first invoice -> first cash. Medians and the end-to-end P90.
--- */
WITH s AS (
  SELECT s.sow_id, o.close_date, s.signed_date,
         (SELECT min(CAST(p.created_at AS DATE)) FROM canon.project p WHERE p.sow_id = s.sow_id) AS first_project,
         (SELECT min(t.work_date) FROM canon.time_entry t JOIN canon.project p ON p.project_id = t.project_id
           WHERE p.sow_id = s.sow_id AND t.billable) AS first_time,
         (SELECT min(i.invoice_date) FROM canon.invoice i
           WHERE i.sow_id = s.sow_id AND i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')) AS first_invoice,
         (SELECT min(y.received_date) FROM canon.payment y JOIN canon.invoice i ON i.invoice_id = y.invoice_id
           WHERE i.sow_id = s.sow_id AND y.received_date <= getvariable('as_of')) AS first_cash
  FROM canon.sow s JOIN canon.opportunity o ON o.opportunity_id = s.opportunity_id
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
