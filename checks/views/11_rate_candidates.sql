-- Every rate card row that can price a SOW's role: SOW scope (rank 1) > MSA scope (2) > STANDARD (3).
-- bill_rate is net of discount, rounded to cents; STANDARD rows only in the SOW's currency.
-- Each SOW offers one key per scope (its sow_id, contract_id, currency): one equality join, not an OR join.
WITH k AS (
  SELECT s.sow_id, 'SOW' AS scope, s.sow_id AS scope_key FROM canon.sow s
  UNION ALL SELECT s.sow_id, 'MSA' AS scope, s.contract_id AS scope_key FROM canon.sow s
  UNION ALL SELECT s.sow_id, 'STANDARD' AS scope, s.currency AS scope_key FROM canon.sow s)
SELECT k.sow_id, r.rate_card_id, r.role, r.currency, r.valid_from,
       coalesce(r.valid_to, DATE '9999-12-31') AS valid_to, r.scope,
       CASE r.scope WHEN 'SOW' THEN 1 WHEN 'MSA' THEN 2 ELSE 3 END AS scope_rank,
       CAST(round(r.bill_rate * (1 - coalesce(r.discount_pct, 0)), 2) AS DECIMAL(18, 2)) AS bill_rate
FROM k
JOIN canon.rate_card r
  ON r.scope = k.scope
 AND k.scope_key = CASE r.scope WHEN 'SOW' THEN r.sow_id WHEN 'MSA' THEN r.contract_id ELSE r.currency END
