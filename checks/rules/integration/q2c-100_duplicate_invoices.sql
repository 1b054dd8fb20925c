/* ---
id: Q2C-100
title: Duplicate invoices (idempotency failure)
severity: S1
owner: Integration / Billing Ops
domain: integration
systems: [ERP, INT]
description: >
  technical: several non-cancelled invoices from one source record (source_system, source_id); every one
  after the lowest invoice_id is a duplicate. business: two posted invoices (type invoice) of the same
  client, currency and gross (within 0.01), dated within business_dup_days, sharing source_ref or
  correlation_id, where every sourced line of the later invoice (line_type, source_id) is also on the earlier
  one (two invoices billing different items - e.g. two equal milestones of one engagement - are not duplicates;
  a re-keyed copy with unsourced lines is); the higher invoice_id is the duplicate. A duplicate credited by a
  credit note is excluded.
remediation: Credit the duplicate invoice; fix the integration's idempotency.
impact_kind: exposure
stage: invoice
impact: round(duplicate amount_gross * fx(ccy, invoice_date), 2)
entity: invoice (the duplicate)
depends_on: [invoice, fx_rate]
params:
  business_dup_days: 3
--- */
WITH tech AS (
  SELECT i.invoice_id, 'technical' AS kind,
         row_number() OVER (PARTITION BY i.source_system, i.source_id ORDER BY i.invoice_id) AS rn,
         first_value(i.invoice_id) OVER (PARTITION BY i.source_system, i.source_id ORDER BY i.invoice_id) AS original_id
  FROM canon.invoice i
  WHERE i.status <> 'cancelled' AND i.source_id IS NOT NULL),
-- Business duplicates: candidate pairs on the invoices' own columns first; the line test (every sourced line of
-- a is on b) then reads the lines of those few invoices only, not a correlated NOT EXISTS over all 11M lines.
pairs AS (
  SELECT a.invoice_id AS a_id, b.invoice_id AS b_id
  FROM canon.invoice a
  JOIN canon.invoice b
    ON a.client_id = b.client_id AND a.invoice_id > b.invoice_id AND a.currency = b.currency
   AND a.amount_gross = b.amount_gross  -- DECIMAL(18,2): |a - b| < 0.01 means equal; an equality key, not a filter
   AND abs(date_diff('day', b.invoice_date, a.invoice_date)) <= getvariable('business_dup_days')
  WHERE a.type = 'invoice' AND b.type = 'invoice'
    AND a.status NOT IN ('draft', 'cancelled') AND b.status NOT IN ('draft', 'cancelled')
    AND (a.source_ref = b.source_ref OR a.correlation_id = b.correlation_id)),
pl AS (
  SELECT il.invoice_id, il.line_type, il.source_id
  FROM canon.invoice_line il
  WHERE il.source_id IS NOT NULL
    AND il.invoice_id IN (SELECT a_id FROM pairs UNION SELECT b_id FROM pairs)),
unmatched AS (  -- pairs where a sourced line of a has no line on b with the same line_type and source_id
  SELECT DISTINCT p.a_id, p.b_id
  FROM pairs p
  JOIN pl la ON la.invoice_id = p.a_id
  LEFT JOIN pl lb ON lb.invoice_id = p.b_id AND lb.line_type = la.line_type AND lb.source_id = la.source_id
  WHERE lb.invoice_id IS NULL),
biz AS (
  SELECT p.a_id AS invoice_id, 'business' AS kind, 2 AS rn, min(p.b_id) AS original_id
  FROM pairs p
  WHERE NOT EXISTS (SELECT 1 FROM unmatched u WHERE u.a_id = p.a_id AND u.b_id = p.b_id)
  GROUP BY p.a_id),
dup AS (
  SELECT invoice_id, kind, original_id FROM tech WHERE rn > 1
  UNION ALL
  SELECT invoice_id, kind, original_id FROM biz)
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,
       CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       d.kind, d.original_id AS original_invoice_id, i.erp_invoice_no, i.currency, i.amount_gross AS amount,
       fx.rate AS fx_rate, i.invoice_date AS fx_date
FROM dup d
JOIN canon.invoice i ON i.invoice_id = d.invoice_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE NOT EXISTS (SELECT 1 FROM canon.invoice cn
                  WHERE cn.type = 'credit_note' AND cn.source_ref = i.invoice_id AND cn.status <> 'cancelled')
