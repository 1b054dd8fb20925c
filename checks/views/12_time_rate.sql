-- materialize
-- The contract rate in force for each time entry: best scope, then the latest valid_from covering
-- work_date. Entries without any rate row are absent (Q2C-023 finds them).
-- Computed as rate intervals per (sow_id, role): the candidates' priority does not depend on the date,
-- so the boundaries (valid_from, valid_to + 1, as day numbers) cut the dates into segments with one
-- winner each; every entry then equality-joins its (sow_id, role) and falls in one segment.
WITH c AS (
  SELECT r.sow_id, r.role, r.rate_card_id, r.scope, r.currency, r.bill_rate,
         date_diff('day', DATE '1970-01-01', r.valid_from) AS lo,
         date_diff('day', DATE '1970-01-01', r.valid_to) + 1 AS hi,
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
  WHERE s.hi IS NOT NULL),
t AS (
  SELECT t.time_entry_id, t.role, p.sow_id, date_diff('day', DATE '1970-01-01', t.work_date) AS dn
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id)
SELECT t.time_entry_id, w.rate_card_id, w.scope, w.currency, w.bill_rate
FROM t
JOIN win w ON w.sow_id = t.sow_id AND w.role = t.role AND w.rn = 1 AND t.dn >= w.lo AND t.dn < w.hi
