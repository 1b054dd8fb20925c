/* ---
id: Q2C-033
title: T&M time billed at a rate different from the contract rate
severity: S2
owner: Billing Ops
domain: delivery_to_bill
systems: [ERP, PSA, CLM]
description: >
  A time line on a posted invoice has unit_price off the contract rate in force on the work date by more
  than rate_tol_pct (same currency only). S1 when over-billed. Lines whose rate comes from an
  amendment's new rate card are Q2C-061 (amendment not in billing), not this check.
remediation: Credit and re-bill the line at the contract rate; fix the PSA rate.
impact_kind: leakage
impact: round(abs(contract_rate - unit_price) * quantity * fx(invoice ccy, invoice_date), 2)
entity: invoice_line
depends_on: [invoice_line, invoice, time_entry, project, sow, rate_card, amendment, fx_rate]
params:
  rate_tol_pct: 0.005
--- */
-- The rate test first, on the time lines' narrow columns: each (SOW, role) has disjoint rate segments, so a line
-- meets at most one segment per project row whatever its invoice's currency; the invoice's columns (and the
-- same-currency test) are joined to the few off-rate lines only, not carried through the 11M-line range join.
WITH off AS (
  SELECT il.invoice_line_id, il.invoice_id, il.project_id, il.source_id AS time_entry_id, il.role, il.work_date, il.quantity,
         il.unit_price, p.sow_id, tr.bill_rate, tr.currency, tr.rate_card_id
  FROM chk.time_line il
  JOIN canon.project p ON p.project_id = il.project_id  -- so the line has its entry: source_id is the entry's id
  JOIN chk.rate_segment tr ON tr.sow_id = p.sow_id AND tr.role = il.role
                           AND il.work_date >= tr.valid_from AND il.work_date < tr.valid_until
  WHERE abs(il.unit_price - tr.bill_rate) > getvariable('rate_tol_pct') * tr.bill_rate)
SELECT 'invoice_line' AS entity_type, il.invoice_line_id AS entity_id, i.correlation_id,
       CAST(round(abs(il.bill_rate - il.unit_price) * il.quantity * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, il.sow_id, il.project_id, i.invoice_id, i.legal_entity_id, il.work_date AS event_date,
       il.time_entry_id, il.role, il.quantity, il.unit_price AS billed_rate, il.bill_rate AS contract_rate,
       (il.bill_rate - il.unit_price) * il.quantity AS under_billed_ccy,
       CASE WHEN il.unit_price > il.bill_rate THEN 'S1' END AS severity
FROM off il
JOIN canon.invoice i ON i.invoice_id = il.invoice_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
  AND il.currency = i.currency
  AND NOT EXISTS (SELECT 1 FROM canon.amendment a
                  WHERE a.status = 'executed' AND a.new_rate_card_id = il.rate_card_id)
