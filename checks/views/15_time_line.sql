-- materialize
-- Time-type invoice lines of invoices that are not draft or cancelled, each with the time entry it bills
-- (entry columns NULL when no entry has the line's source_id: Q2C-056 reports those). This is the one
-- join of invoice lines to time entries on the VARCHAR entry id (11M lines against 20M entries at tier l),
-- made once for Q2C-033, 056, 061 and K11 instead of once in each.
-- `matched` instead of the entry's time_entry_id: on a match that id equals source_id, and each VARCHAR column
-- of 10M rows costs about half a CPU-second to carry through the join and store (tier l).
SELECT il.invoice_line_id, il.invoice_id, il.source_id, il.quantity, il.unit_price, il.amount,
       t.time_entry_id IS NOT NULL AS matched, t.project_id, t.role, t.work_date
FROM canon.invoice_line il
JOIN canon.invoice i ON i.invoice_id = il.invoice_id
LEFT JOIN canon.time_entry t ON t.time_entry_id = il.source_id
WHERE il.line_type = 'time' AND i.status NOT IN ('draft', 'cancelled')
