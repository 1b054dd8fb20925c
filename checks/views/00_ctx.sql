-- One row of run context: as_of, as_of_ts, the business-day number of as_of (firm-wide calendar).
SELECT CAST(getvariable('as_of') AS DATE) AS as_of,
       CAST(getvariable('as_of_ts') AS TIMESTAMPTZ) AS as_of_ts,
       getvariable('reporting_ccy') AS reporting_ccy,
       getvariable('coc') AS coc,
       (SELECT max(c.bd_no) FROM canon.calendar c
         WHERE c.legal_entity_id IS NULL AND c.d = CAST(getvariable('as_of') AS DATE)) AS as_of_bd
