-- materialize
-- STANDARD-scope rate per distinct (role, work_date, project currency) of the time entries (a few
-- thousand rows): the project's currency when the firm has a standard card in it, else any currency
-- (lowest rate_card_id). pccy is '' for entries without a project. chk.standard_rate joins it back.
WITH k AS (
  SELECT DISTINCT t.role, t.work_date, coalesce(p.currency, '') AS pccy
  FROM canon.time_entry t
  LEFT JOIN canon.project p ON p.project_id = t.project_id),
cand AS (
  SELECT k.role, k.work_date, k.pccy, r.currency,
         CAST(round(r.bill_rate * (1 - coalesce(r.discount_pct, 0)), 2) AS DECIMAL(18, 2)) AS bill_rate,
         row_number() OVER (PARTITION BY k.role, k.work_date, k.pccy
                            ORDER BY CASE WHEN r.currency = k.pccy THEN 0 ELSE 1 END, r.valid_from DESC,
                                     r.rate_card_id, r.currency) AS rn
  FROM k
  JOIN canon.rate_card r
    ON r.scope = 'STANDARD' AND r.role = k.role
   AND k.work_date >= r.valid_from AND k.work_date <= coalesce(r.valid_to, DATE '9999-12-31'))
SELECT role, work_date, pccy, currency, bill_rate FROM cand WHERE rn = 1
