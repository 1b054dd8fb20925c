-- materialize
-- The contract rate in force as date segments per (sow_id, role): within [valid_from, valid_until) one
-- rate card wins (best scope, then the latest valid_from covering the date). A time entry's rate is
-- then one equality join on its project's sow_id and its role, plus the date range:
--   JOIN chk.rate_segment r ON r.sow_id = p.sow_id AND r.role = t.role
--                           AND t.work_date >= r.valid_from AND t.work_date < r.valid_until
-- Entries matching no segment have no contract rate (Q2C-023 finds them).
-- Segments, not a rate per entry: a few rows per SOW role instead of one per entry (20M at tier l),
-- and joining them costs less than joining a per-entry table back on the VARCHAR entry id.
-- The candidates' priority does not depend on the date, so their boundaries (valid_from and
-- valid_to + 1 day) cut the dates into segments with one winner each.
WITH c AS (
  SELECT r.sow_id, r.role, r.rate_card_id, r.scope, r.currency, r.bill_rate,
         r.valid_from AS lo, r.valid_to + 1 AS hi,
         row_number() OVER (PARTITION BY r.sow_id, r.role
                            ORDER BY r.scope_rank, r.valid_from DESC, r.rate_card_id) AS prio
  FROM chk.rate_candidates r
  WHERE r.valid_from IS NOT NULL AND r.valid_from <= r.valid_to),
b AS (
  SELECT sow_id, role, lo AS x FROM c
  UNION
  SELECT sow_id, role, hi AS x FROM c),
seg AS (
  SELECT sow_id, role, x AS lo, lead(x) OVER (PARTITION BY sow_id, role ORDER BY x) AS hi FROM b),
win AS (
  SELECT s.sow_id, s.role, s.lo, s.hi, c.rate_card_id, c.scope, c.currency, c.bill_rate,
         row_number() OVER (PARTITION BY s.sow_id, s.role, s.lo ORDER BY c.prio) AS rn
  FROM seg s
  JOIN c ON c.sow_id = s.sow_id AND c.role = s.role AND c.lo <= s.lo AND c.hi >= s.hi
  WHERE s.hi IS NOT NULL)
SELECT sow_id, role, lo AS valid_from, hi AS valid_until,
       rate_card_id, scope, currency, bill_rate
FROM win
WHERE rn = 1
