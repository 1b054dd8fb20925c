-- Firm-wide business-day numbers (calendar rows with legal_entity_id IS NULL);
-- business days strictly after a up to and including b = bd(b) - bd(a).
SELECT c.d, max(c.bd_no) AS bd_no
FROM canon.calendar c
WHERE c.legal_entity_id IS NULL
GROUP BY c.d
