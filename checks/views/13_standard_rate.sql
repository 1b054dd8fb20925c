-- materialize
-- STANDARD-scope rate for each time entry's role on its work date (prices work with no contract).
WITH cand AS (
  SELECT t.time_entry_id, r.currency,
         CAST(round(r.bill_rate * (1 - coalesce(r.discount_pct, 0)), 2) AS DECIMAL(18, 2)) AS bill_rate,
         row_number() OVER (PARTITION BY t.time_entry_id ORDER BY r.valid_from DESC, r.rate_card_id) AS rn
  FROM canon.time_entry t
  JOIN canon.rate_card r
    ON r.scope = 'STANDARD' AND r.role = t.role
   AND t.work_date >= r.valid_from AND t.work_date <= coalesce(r.valid_to, DATE '9999-12-31'))
SELECT time_entry_id, currency, bill_rate FROM cand WHERE rn = 1
