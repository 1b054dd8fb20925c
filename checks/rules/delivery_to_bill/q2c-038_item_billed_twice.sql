/* ---
id: Q2C-038
title: Same time, expense, milestone or schedule item billed twice
severity: S1
owner: Billing Ops
domain: delivery_to_bill
systems: [ERP]
description: >
  One source item (line_type + source_id) appears on more than one posted invoice (type invoice) that has
  not been credited (no non-cancelled credit note with source_ref = the invoice).
remediation: Credit the duplicate billing.
impact_kind: exposure
stage: invoice
impact: sum of round(line amount * fx(ccy, invoice_date), 2) minus the largest such line (one legitimate occurrence)
entity: billed_item (line_type:source_id)
depends_on: [invoice_line, invoice, time_entry, fx_rate]
--- */
WITH inv AS (  -- posted, uncredited invoices: the credit-note test runs on invoices, not on every line
  SELECT i.invoice_id, i.client_id, i.sow_id, i.project_id, i.legal_entity_id, i.correlation_id, i.invoice_date,
         i.currency
  FROM canon.invoice i
  WHERE i.status NOT IN ('draft', 'cancelled') AND i.type = 'invoice'
    AND i.invoice_id NOT IN (SELECT cn.source_ref FROM canon.invoice cn
                             WHERE cn.type = 'credit_note' AND cn.status <> 'cancelled'
                               AND cn.source_ref IS NOT NULL)),
billed AS (
  SELECT il.line_type, il.source_id, il.invoice_id, il.amount
  FROM canon.invoice_line il
  JOIN inv ON inv.invoice_id = il.invoice_id
  WHERE il.line_type IN ('expense', 'milestone', 'fixed', 'retainer', 'subcontract')
    AND il.source_id IS NOT NULL
  UNION ALL  -- time per entry (chk.time_line), whether the line names its entry or its entries name the line
  SELECT 'time', tl.source_id, tl.invoice_id, tl.amount
  FROM chk.time_line tl
  JOIN inv ON inv.invoice_id = tl.invoice_id
  WHERE tl.source_id IS NOT NULL),
dup AS (  -- items on more than one invoice, found on the narrow columns before anything wide is carried
  SELECT line_type AS dup_line_type, source_id AS dup_source_id
  FROM billed GROUP BY line_type, source_id HAVING min(invoice_id) <> max(invoice_id)),
l AS (
  SELECT b.line_type, b.source_id, b.invoice_id, inv.client_id, inv.sow_id, inv.project_id, inv.legal_entity_id,
         inv.correlation_id, inv.invoice_date,
         CAST(round(b.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS amount_rc
  FROM billed b
  JOIN dup ON dup.dup_line_type = b.line_type AND dup.dup_source_id = b.source_id
  JOIN inv ON inv.invoice_id = b.invoice_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = inv.currency AND fx.d = inv.invoice_date),
ranked AS (  -- the invoice that billed the item again is the latest one (by date, then id): its money (cases)
  SELECT l.*,
         row_number() OVER (PARTITION BY line_type, source_id ORDER BY invoice_date DESC, invoice_id DESC) AS latest,
         row_number() OVER (PARTITION BY line_type, source_id ORDER BY invoice_date, invoice_id) AS earliest
  FROM l)
SELECT 'billed_item' AS entity_type, line_type || ':' || source_id AS entity_id, min(correlation_id) AS correlation_id,
       CAST(sum(amount_rc) - max(amount_rc) AS DECIMAL(18, 2)) AS impact_rc,
       min(client_id) AS client_id, min(sow_id) AS sow_id, min(project_id) AS project_id,
       max(CASE WHEN latest = 1 THEN invoice_id END) AS invoice_id, min(legal_entity_id) AS legal_entity_id,
       max(invoice_date) AS event_date, line_type, source_id, count(DISTINCT invoice_id) AS n_invoices,
       max(CASE WHEN earliest = 1 THEN invoice_id END) AS first_invoice_id
FROM ranked
GROUP BY line_type, source_id
HAVING count(DISTINCT invoice_id) > 1
