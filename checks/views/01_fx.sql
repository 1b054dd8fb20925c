-- FX to the reporting currency as validity ranges: [valid_from, valid_to). The earliest rate also
-- covers dates before it; the reporting currency converts at 1. Join: d >= valid_from AND d < valid_to.
WITH r AS (
  SELECT f.from_ccy, f.rate, f.rate_date,
         row_number() OVER (PARTITION BY f.from_ccy ORDER BY f.rate_date) AS rn,
         lead(f.rate_date) OVER (PARTITION BY f.from_ccy ORDER BY f.rate_date) AS next_date
  FROM canon.fx_rate f
  WHERE f.to_ccy = getvariable('reporting_ccy') AND f.from_ccy <> getvariable('reporting_ccy'))
SELECT from_ccy, rate,
       CASE WHEN rn = 1 THEN DATE '1900-01-01' ELSE rate_date END AS valid_from,
       coalesce(next_date, DATE '9999-12-31') AS valid_to
FROM r
UNION ALL
SELECT getvariable('reporting_ccy') AS from_ccy, CAST(1 AS DECIMAL(18, 8)) AS rate,
       DATE '1900-01-01' AS valid_from, DATE '9999-12-31' AS valid_to
