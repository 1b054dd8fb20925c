-- Expected-leakage probability by age in days (catalog §0.5), as data: join ON age BETWEEN lo AND hi.
SELECT lo, hi, CAST(p AS DECIMAL(4, 2)) AS p
FROM (VALUES (-100000, 30, 0.02), (31, 60, 0.05), (61, 90, 0.15), (91, 180, 0.30),
             (181, 365, 0.50), (366, 100000000, 0.80)) AS t(lo, hi, p)
