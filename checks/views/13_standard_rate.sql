-- STANDARD-scope rate for each time entry's role on its work date (prices work with no contract), in the
-- project's currency when the firm has a standard card in it, else any currency (lowest rate_card_id).
-- A view over chk.standard_rate_key: the checks that use it need only a few entries' rates.
SELECT t.time_entry_id, k.currency, k.bill_rate
FROM canon.time_entry t
LEFT JOIN canon.project p ON p.project_id = t.project_id
JOIN chk.standard_rate_key k
  ON k.role = t.role AND k.work_date = t.work_date AND k.pccy = coalesce(p.currency, '')
