-- Every rate card row that can price a SOW's role: SOW scope (rank 1) > MSA scope (2) > STANDARD (3).
-- bill_rate is net of discount, rounded to cents.
SELECT s.sow_id, r.rate_card_id, r.role, r.currency, r.valid_from,
       coalesce(r.valid_to, DATE '9999-12-31') AS valid_to, r.scope,
       CASE r.scope WHEN 'SOW' THEN 1 WHEN 'MSA' THEN 2 ELSE 3 END AS scope_rank,
       CAST(round(r.bill_rate * (1 - coalesce(r.discount_pct, 0)), 2) AS DECIMAL(18, 2)) AS bill_rate
FROM canon.sow s
JOIN canon.rate_card r
  ON (r.scope = 'SOW' AND r.sow_id = s.sow_id)
  OR (r.scope = 'MSA' AND r.contract_id = s.contract_id)
  OR (r.scope = 'STANDARD')
