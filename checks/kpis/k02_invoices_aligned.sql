/* ---
id: K02
title: Invoices aligned to contract terms
description: >
  Share of posted invoices (type invoice, dated <= as_of) with no finding ever seen (open, reopened or
  resolved) from the contract-compliance checks; count- and value-weighted.
--- */
WITH bad AS (
  SELECT DISTINCT h.invoice_id FROM results.finding_history h
  WHERE h.invoice_id IS NOT NULL
    AND h.check_id IN ('Q2C-021', 'Q2C-024', 'Q2C-031', 'Q2C-033', 'Q2C-036', 'Q2C-038', 'Q2C-040', 'Q2C-041',
                       'Q2C-042', 'Q2C-050', 'Q2C-051', 'Q2C-052', 'Q2C-053', 'Q2C-055', 'Q2C-056')),
i AS (
  SELECT i.invoice_id, i.legal_entity_id, CAST(date_trunc('month', i.invoice_date) AS DATE) AS m,
         CASE WHEN b.invoice_id IS NULL THEN 1.0 ELSE 0.0 END AS aligned,
         CAST(round(i.amount_net * fx.rate, 2) AS DECIMAL(18, 2)) AS net_rc
  FROM canon.invoice i
  LEFT JOIN bad b ON b.invoice_id = i.invoice_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled') AND i.invoice_date <= getvariable('as_of')),
sl AS (
  SELECT 'total' AS slice_kind, 'all' AS slice_value, i.* FROM i
  UNION ALL SELECT 'legal_entity', i.legal_entity_id, i.* FROM i
  UNION ALL SELECT 'month', CAST(i.m AS VARCHAR), i.* FROM i),
g AS (
  SELECT slice_kind, slice_value, avg(aligned) AS pct_count,
         sum(aligned * net_rc) / nullif(sum(net_rc), 0) AS pct_value
  FROM sl GROUP BY slice_kind, slice_value)
SELECT 'K02' AS kpi_id, 'invoices_aligned_count' AS name, CAST(pct_count AS DOUBLE) AS value, 'ratio' AS unit,
       slice_kind, slice_value FROM g
UNION ALL SELECT 'K02', 'invoices_aligned_value', CAST(pct_value AS DOUBLE), 'ratio', slice_kind, slice_value FROM g
