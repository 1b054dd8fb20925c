/* ---
id: Q2C-041
title: Legal-entity mismatch between SOW and project or invoice
severity: S1
owner: Controller / MDM
domain: master_data
systems: [CLM, ERP]
description: >
  A non-cancelled project booked in a legal entity other than its SOW's contracting entity, or a
  non-cancelled invoice issued by an entity other than the SOW's (invoice sow_id, else its project's SOW).
remediation: Move the project; credit and re-issue the invoice from the contracting entity.
impact_kind: exposure
stage: contract
impact: invoice round(amount_gross * fx(ccy, invoice_date), 2); project sum of that over its non-cancelled invoices
entity: project or invoice
depends_on: [project, sow, invoice, fx_rate]
--- */
WITH inv AS (
  SELECT i.invoice_id, i.correlation_id, i.client_id, i.project_id, i.legal_entity_id, i.invoice_date, i.type,
         coalesce(i.sow_id, p.sow_id) AS sow_id, i.currency, i.amount_gross, fx.rate AS fx_rate,
         CAST(round(i.amount_gross * fx.rate, 2) AS DECIMAL(18, 2)) AS gross_rc
  FROM canon.invoice i
  LEFT JOIN canon.project p ON p.project_id = i.project_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.status <> 'cancelled'),
proj AS (
  SELECT project_id, sum(CASE WHEN type = 'invoice' THEN gross_rc ELSE 0 END) AS invoiced_rc FROM inv GROUP BY project_id)
SELECT 'project' AS entity_type, p.project_id AS entity_id, p.correlation_id,
       CAST(coalesce(proj.invoiced_rc, 0) AS DECIMAL(18, 2)) AS impact_rc,
       p.client_id, s.sow_id, p.project_id, NULL AS invoice_id, p.legal_entity_id, p.start_date AS event_date,
       s.legal_entity_id AS contracting_le, p.legal_entity_id AS booked_le, NULL AS currency, NULL AS amount,
       NULL AS fx_rate, NULL AS fx_date
FROM canon.project p
JOIN canon.sow s ON s.sow_id = p.sow_id
LEFT JOIN proj ON proj.project_id = p.project_id
WHERE coalesce(p.status, '') <> 'cancelled' AND p.legal_entity_id <> s.legal_entity_id
UNION ALL
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id, i.gross_rc AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date,
       s.legal_entity_id AS contracting_le, i.legal_entity_id AS booked_le, i.currency, i.amount_gross AS amount,
       i.fx_rate, i.invoice_date AS fx_date
FROM inv i
JOIN canon.sow s ON s.sow_id = i.sow_id
WHERE i.legal_entity_id <> s.legal_entity_id
