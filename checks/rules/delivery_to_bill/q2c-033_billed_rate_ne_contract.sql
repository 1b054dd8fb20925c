/* ---
id: Q2C-033
title: T&M time billed at a rate different from the contract rate
severity: S2
owner: Billing Ops
domain: delivery_to_bill
systems: [ERP, PSA, CLM]
description: >
  A time line on a posted invoice has unit_price off the contract rate in force on the work date by more
  than rate_tol_pct (same currency only). S1 when over-billed. A line billing many entries (aggregated
  lines) is judged entry by entry, each at its own work date, and reported once with the sum. Lines whose
  rate comes from an amendment's new rate card are Q2C-061 (amendment not in billing), not this check.
remediation: Credit and re-bill the line at the contract rate; fix the PSA rate.
impact_kind: leakage
stage: invoice
impact: sum over the line's entries of round(abs(contract_rate - unit_price) * hours * fx(invoice ccy, invoice_date), 2)
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
  WHERE abs(il.unit_price - tr.bill_rate) > getvariable('rate_tol_pct') * tr.bill_rate),
-- One row per entry the line bills (chk.time_line): an aggregated line's entries may fall in different rate segments,
-- so each is judged at its own work date and the line's impact is the sum of its entries' (one entry per line when
-- lines are billed per entry, where the sum is that entry's).
bad AS (
  SELECT il.invoice_line_id, il.invoice_id, i.correlation_id,
         CAST(round(abs(il.bill_rate - il.unit_price) * il.quantity * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
         i.client_id, il.sow_id, il.project_id, i.legal_entity_id, il.work_date, il.time_entry_id, il.role,
         il.quantity, il.unit_price, il.bill_rate, (il.bill_rate - il.unit_price) * il.quantity AS under_billed_ccy,
         i.currency, fx.rate AS fx_rate, i.invoice_date AS fx_date
  FROM off il
  JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
    AND il.currency = i.currency
    AND NOT EXISTS (SELECT 1 FROM canon.amendment a
                    WHERE a.status = 'executed' AND a.new_rate_card_id = il.rate_card_id))
SELECT 'invoice_line' AS entity_type, b.invoice_line_id AS entity_id, min(b.correlation_id) AS correlation_id,
       CAST(sum(b.impact_rc) AS DECIMAL(18, 2)) AS impact_rc,
       min(b.client_id) AS client_id, min(b.sow_id) AS sow_id, min(b.project_id) AS project_id, b.invoice_id,
       min(b.legal_entity_id) AS legal_entity_id, min(b.work_date) AS event_date,
       min(b.time_entry_id) AS time_entry_id, min(b.role) AS role, sum(b.quantity) AS quantity,
       min(b.unit_price) AS billed_rate, min(b.bill_rate) AS contract_rate, sum(b.under_billed_ccy) AS under_billed_ccy,
       CASE WHEN max(CASE WHEN b.unit_price > b.bill_rate THEN 1 ELSE 0 END) = 1 THEN 'S1' END AS severity,
       count(*) AS n_entries, min(b.currency) AS currency, sum(abs(b.under_billed_ccy)) AS amount,
       min(b.fx_rate) AS fx_rate, min(b.fx_date) AS fx_date
FROM bad b
GROUP BY b.invoice_line_id, b.invoice_id
