/* ---
id: Q2C-102
title: Missing, malformed, non-resolving or conflicting correlation ID
severity: S3
owner: Integration
domain: integration
systems: [CRM, CLM, ERP, PSA]
description: >
  On SOWs (parent = opportunity), projects (parent = SOW), invoices (parent = SOW, else the project's SOW)
  and applied payments (parent = invoice): correlation_id missing, not matching corr_regex, parent
  record carrying none (non_resolving_parent), or different from the parent's. A SOW without an
  opportunity may mint its own. S2 on invoices and payments.
remediation: Stamp the flow's correlation ID on the record (middleware custom field).
impact_kind: compliance
stage: data
impact: invoices round(amount_gross * fx(ccy, invoice_date), 2); payments round(amount * fx(ccy, received_date), 2); others 0
entity: sow, project, invoice or payment
depends_on: [sow, opportunity, project, invoice, payment, fx_rate]
params:
  corr_regex: '^CL-[0-9A-HJKMNP-TV-Z]{10}$'
--- */
WITH chain AS (
  SELECT 'sow' AS et, s.sow_id AS eid, s.correlation_id AS cid, o.correlation_id AS parent_cid,
         o.opportunity_id IS NOT NULL AS has_parent, s.client_id, s.sow_id, NULL AS project_id, NULL AS invoice_id,
         s.signed_date AS d, CAST(0 AS DECIMAL(18, 2)) AS value_rc
  FROM canon.sow s LEFT JOIN canon.opportunity o ON o.opportunity_id = s.opportunity_id
  UNION ALL
  SELECT 'project', p.project_id, p.correlation_id, s.correlation_id, s.sow_id IS NOT NULL, p.client_id, p.sow_id,
         p.project_id, NULL, CAST(p.created_at AS DATE), CAST(0 AS DECIMAL(18, 2))
  FROM canon.project p LEFT JOIN canon.sow s ON s.sow_id = p.sow_id
  UNION ALL
  SELECT 'invoice', i.invoice_id, i.correlation_id, s.correlation_id, s.sow_id IS NOT NULL, i.client_id,
         s.sow_id, i.project_id, i.invoice_id, i.invoice_date, CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2))
  FROM canon.invoice i
  LEFT JOIN canon.project p ON p.project_id = i.project_id
  LEFT JOIN canon.sow s ON s.sow_id = coalesce(i.sow_id, p.sow_id)
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.status <> 'cancelled'
  UNION ALL
  SELECT 'payment', y.payment_id, y.correlation_id, i.correlation_id, i.invoice_id IS NOT NULL, y.client_id,
         i.sow_id, i.project_id, y.invoice_id, y.received_date, CAST(round(y.amount * fx.rate, 2) AS DECIMAL(18, 2))
  FROM canon.payment y
  LEFT JOIN canon.invoice i ON i.invoice_id = y.invoice_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = y.currency AND fx.d = y.received_date
  WHERE y.invoice_id IS NOT NULL),
x AS (
  SELECT c.*,
         CASE WHEN c.cid IS NULL THEN 'missing'
              WHEN NOT regexp_matches(c.cid, getvariable('corr_regex')) THEN 'malformed'
              WHEN c.et = 'sow' AND NOT c.has_parent THEN NULL
              WHEN c.parent_cid IS NULL THEN 'non_resolving_parent'
              WHEN c.cid <> c.parent_cid THEN 'conflicting' END AS issue
  FROM chain c)
SELECT x.et AS entity_type, x.eid AS entity_id, x.cid AS correlation_id, x.value_rc AS impact_rc,
       x.client_id, x.sow_id, x.project_id, x.invoice_id, x.d AS event_date, x.issue, x.parent_cid,
       CASE WHEN x.et IN ('invoice', 'payment') THEN 'S2' END AS severity
FROM x
WHERE x.issue IS NOT NULL
