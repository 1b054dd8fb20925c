-- Amendment-adjusted SOW terms as of as_of: executed amendments effective on or before as_of;
-- the latest amendment (by amendment_no) that sets an end date / cap wins.
WITH am AS (
  SELECT a.sow_id, a.amendment_no, a.value_delta, a.new_end_date, a.new_cap_amount, a.signed_date
  FROM canon.amendment a
  WHERE a.status = 'executed' AND a.effective_date <= getvariable('as_of')),
tot AS (
  SELECT sow_id, sum(value_delta) AS value_delta, max(signed_date) AS last_amendment_signed
  FROM am GROUP BY sow_id),
ends AS (
  SELECT sow_id, new_end_date,
         row_number() OVER (PARTITION BY sow_id ORDER BY amendment_no DESC) AS rn
  FROM am WHERE new_end_date IS NOT NULL),
caps AS (
  SELECT sow_id, new_cap_amount,
         row_number() OVER (PARTITION BY sow_id ORDER BY amendment_no DESC) AS rn
  FROM am WHERE new_cap_amount IS NOT NULL)
SELECT s.*,
       CAST(s.value + coalesce(tot.value_delta, 0) AS DECIMAL(18, 2)) AS eff_value,
       coalesce(ends.new_end_date, s.end_date) AS eff_end_date,
       coalesce(caps.new_cap_amount, s.cap_amount) AS eff_cap_amount,
       coalesce(s.payment_terms_days, c.payment_terms_days) AS eff_payment_terms_days,
       (s.po_number IS NOT NULL OR coalesce(c.po_required, false)) AS eff_po_required,
       tot.last_amendment_signed
FROM canon.sow s
LEFT JOIN canon.contract c ON c.contract_id = s.contract_id
LEFT JOIN tot ON tot.sow_id = s.sow_id
LEFT JOIN ends ON ends.sow_id = s.sow_id AND ends.rn = 1
LEFT JOIN caps ON caps.sow_id = s.sow_id AND caps.rn = 1
