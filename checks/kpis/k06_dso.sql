/* ---
id: K06
title: Days sales outstanding
description: >
  DSO (simple): open AR at as_of / billings (gross, posted invoices) of the trailing dso_days x dso_days;
  best-possible DSO from not-yet-due AR; ADD = DSO - BPDSO. USD at invoice-date rates.
params:
  dso_days: 90  # trailing days of billings DSO divides by
--- */
WITH ar AS (
  SELECT o.legal_entity_id, CAST(round(o.open_amount * fx.rate, 2) AS DECIMAL(18, 2)) AS open_rc,
         CASE WHEN o.due_date >= getvariable('as_of') THEN 1 ELSE 0 END AS current_flag
  FROM chk.invoice_open o
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = o.currency AND fx.d = o.invoice_date
  WHERE o.open_amount > 0.01),
bil AS (
  SELECT i.legal_entity_id, CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2)) AS gross_rc
  FROM canon.invoice i
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
    AND i.invoice_date <= getvariable('as_of')
    AND date_diff('day', i.invoice_date, getvariable('as_of')) < getvariable('dso_days')),
s AS (
  SELECT 'total' AS slice_kind, 'all' AS slice_value, sum(open_rc) AS ar, sum(current_flag * open_rc) AS cur_ar FROM ar
  UNION ALL SELECT 'legal_entity', legal_entity_id, sum(open_rc), sum(current_flag * open_rc) FROM ar GROUP BY legal_entity_id),
b AS (
  SELECT 'total' AS slice_kind, 'all' AS slice_value, sum(gross_rc) AS billed FROM bil
  UNION ALL SELECT 'legal_entity', legal_entity_id, sum(gross_rc) FROM bil GROUP BY legal_entity_id),
g AS (
  SELECT b.slice_kind, b.slice_value, coalesce(s.ar, 0) * getvariable('dso_days') / nullif(b.billed, 0) AS dso,
         coalesce(s.cur_ar, 0) * getvariable('dso_days') / nullif(b.billed, 0) AS bpdso
  FROM b LEFT JOIN s ON s.slice_kind = b.slice_kind AND s.slice_value = b.slice_value)
SELECT 'K06' AS kpi_id, 'dso' AS name, CAST(dso AS DOUBLE) AS value, 'days' AS unit, slice_kind, slice_value FROM g
UNION ALL SELECT 'K06', 'best_possible_dso', CAST(bpdso AS DOUBLE), 'days', slice_kind, slice_value FROM g
UNION ALL SELECT 'K06', 'average_days_delinquent', CAST(dso - bpdso AS DOUBLE), 'days', slice_kind, slice_value FROM g
