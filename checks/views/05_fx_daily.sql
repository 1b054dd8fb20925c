-- materialize
-- FX to the reporting currency for every calendar day (canon.calendar must span the data's dates):
-- an equality join on (from_ccy, d) instead of a range join per row.
SELECT c.d, f.from_ccy, f.rate
FROM (SELECT DISTINCT d FROM canon.calendar) c
JOIN chk.fx f ON c.d >= f.valid_from AND c.d < f.valid_to
