-- materialize
-- The contract rate in force for each time entry: best scope, then the latest valid_from covering
-- work_date. Entries without any rate row are absent (Q2C-023 finds them).
WITH cand AS (
  SELECT t.time_entry_id, r.rate_card_id, r.scope, r.currency, r.bill_rate,
         row_number() OVER (PARTITION BY t.time_entry_id
                            ORDER BY r.scope_rank, r.valid_from DESC, r.rate_card_id) AS rn
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id
  JOIN chk.rate_candidates r
    ON r.sow_id = p.sow_id AND r.role = t.role
   AND t.work_date >= r.valid_from AND t.work_date <= r.valid_to)
SELECT time_entry_id, rate_card_id, scope, currency, bill_rate FROM cand WHERE rn = 1
