/* ---
id: K08
title: Revenue leakage
description: >
  Revenue leakage: sum of impact_rc of this run's findings with impact_kind 'leakage', and that over billings
  (net, posted invoices) of the trailing 365 days.
--- */
WITH l AS (
  SELECT f.check_id, f.impact_rc FROM results.finding f
  WHERE f.run_id = getvariable('run_id') AND f.impact_kind = 'leakage'),
b AS (
  SELECT sum(CAST(round(i.amount_net * fx.rate, 2) AS DECIMAL(18, 2))) AS billed
  FROM canon.invoice i
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled') AND i.invoice_date <= getvariable('as_of')
    AND date_diff('day', i.invoice_date, getvariable('as_of')) < 365)
SELECT 'K08' AS kpi_id, 'revenue_leakage' AS name, CAST(coalesce((SELECT sum(impact_rc) FROM l), 0) AS DOUBLE) AS value,
       'USD' AS unit, 'total' AS slice_kind, 'all' AS slice_value
UNION ALL SELECT 'K08', 'revenue_leakage_pct', CAST(coalesce((SELECT sum(impact_rc) FROM l), 0) / nullif(billed, 0) AS DOUBLE),
       'ratio', 'total', 'all' FROM b
