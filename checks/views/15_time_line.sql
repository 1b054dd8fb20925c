-- materialize
-- Time-type invoice lines of invoices that are not draft or cancelled, one row per time entry a line bills, each
-- with that entry. A line links to its entries one of two ways, as the firm bills (NetSuite `invoice_lines`):
--  * per entry: the line names its entry (source_id); entry columns NULL when no entry has that id;
--  * aggregated: the line names no entry (source_id NULL) and its entries name it (time_entry.invoice_line_id);
--    each entry is a row of its own hours at the line's rate, and hours of the line no entry accounts for (all
--    of them when no entry names it) are one unmatched row, with source_id NULL.
-- So the time-line checks and K11 judge the same money per entry whichever way lines are cut, and an unmatched
-- row is what Q2C-056 reports. This is the one join of invoice lines to time entries on the VARCHAR entry id (11M
-- lines against 20M entries at tier l), made once for Q2C-033, 038, 056, 061 and K11 instead of once in each.
-- `matched` instead of the entry's time_entry_id: on a match that id equals source_id, and each VARCHAR column
-- of 10M rows costs about half a CPU-second to carry through the join and store (tier l).
WITH agg AS (  -- aggregated lines: few or none (the per-entry branch below carries the volume)
  SELECT il.invoice_line_id, il.invoice_id, il.quantity, il.unit_price, il.amount
  FROM canon.invoice_line il
  JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  WHERE il.line_type = 'time' AND il.source_id IS NULL AND i.status NOT IN ('draft', 'cancelled')),
billed AS (  -- the entries that name an aggregated line
  SELECT t.invoice_line_id, t.time_entry_id, t.hours, t.project_id, t.role, t.work_date
  FROM canon.time_entry t
  WHERE t.invoice_line_id IN (SELECT agg.invoice_line_id FROM agg)),
backed AS (
  SELECT invoice_line_id, sum(hours) AS hours FROM billed GROUP BY invoice_line_id)
SELECT il.invoice_line_id, il.invoice_id, il.source_id, il.quantity, il.unit_price, il.amount,
       t.time_entry_id IS NOT NULL AS matched, t.project_id, t.role, t.work_date
FROM canon.invoice_line il
JOIN canon.invoice i ON i.invoice_id = il.invoice_id
LEFT JOIN canon.time_entry t ON t.time_entry_id = il.source_id
WHERE il.line_type = 'time' AND il.source_id IS NOT NULL AND i.status NOT IN ('draft', 'cancelled')
UNION ALL
SELECT a.invoice_line_id, a.invoice_id, b.time_entry_id, CAST(b.hours AS DECIMAL(12, 2)), a.unit_price,
       CAST(round(b.hours * a.unit_price, 2) AS DECIMAL(18, 2)), true, b.project_id, b.role, b.work_date
FROM agg a
JOIN billed b ON b.invoice_line_id = a.invoice_line_id
UNION ALL
SELECT a.invoice_line_id, a.invoice_id, CAST(NULL AS VARCHAR), CAST(a.quantity - coalesce(k.hours, 0) AS DECIMAL(12, 2)),
       a.unit_price, CAST(a.amount - round(coalesce(k.hours, 0) * a.unit_price, 2) AS DECIMAL(18, 2)), false,
       CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS DATE)
FROM agg a
LEFT JOIN backed k ON k.invoice_line_id = a.invoice_line_id
WHERE k.invoice_line_id IS NULL OR k.hours <> a.quantity
