/* ---
id: K04
title: Billing exception rate
description: >
  Posted invoices (dated <= as_of) carrying an open S1/S2 finding from a billing-class check (Q2C-020..056,
  060, 061) in this run, over all posted invoices; and the $ of those findings over billings.
--- */
WITH f AS (
  SELECT f.invoice_id, f.impact_rc FROM results.finding f
  WHERE f.run_id = getvariable('run_id') AND f.severity IN ('S1', 'S2')
    AND (f.check_id BETWEEN 'Q2C-020' AND 'Q2C-056' OR f.check_id IN ('Q2C-060', 'Q2C-061'))),
i AS (
  SELECT i.invoice_id, CAST(round(i.amount_net * fx.rate, 2) AS DECIMAL(18, 2)) AS net_rc,
         CASE WHEN EXISTS (SELECT 1 FROM f WHERE f.invoice_id = i.invoice_id) THEN 1.0 ELSE 0.0 END AS has_exc
  FROM canon.invoice i
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled') AND i.invoice_date <= getvariable('as_of'))
SELECT 'K04' AS kpi_id, 'billing_exception_rate_count' AS name, CAST(avg(has_exc) AS DOUBLE) AS value, 'ratio' AS unit,
       'total' AS slice_kind, 'all' AS slice_value FROM i
UNION ALL SELECT 'K04', 'billing_exception_rate_value',
       CAST((SELECT coalesce(sum(impact_rc), 0) FROM f) / nullif(sum(net_rc), 0) AS DOUBLE), 'ratio', 'total', 'all' FROM i
