/* ---
id: Q2C-013
title: Duplicate projects for one SOW
severity: S2
owner: PMO / Integration
domain: contract_to_project
systems: [PSA, ERP]
description: >
  More than one non-cancelled primary project (project_role NULL counts as primary) for one SOW, or one
  source record loaded as several projects. The earliest created project survives; each later one is a finding.
remediation: Merge or cancel the duplicate project and move its time and invoices to the survivor.
impact_kind: exposure
stage: project
impact: sum over the duplicate's posted invoices of round(amount_net * fx(currency, invoice_date), 2), credit notes negative
entity: project (the non-surviving duplicate)
depends_on: [project, invoice, fx_rate]
--- */
WITH by_sow AS (
  SELECT p.project_id, p.sow_id, p.correlation_id, p.client_id, p.legal_entity_id, p.created_at,
         row_number() OVER (PARTITION BY p.sow_id ORDER BY p.created_at, p.project_id) AS rn,
         'same_sow' AS kind
  FROM canon.project p
  WHERE p.sow_id IS NOT NULL AND coalesce(p.status, '') <> 'cancelled' AND coalesce(p.project_role, 'primary') = 'primary'),
by_src AS (
  SELECT p.project_id, p.sow_id, p.correlation_id, p.client_id, p.legal_entity_id, p.created_at,
         row_number() OVER (PARTITION BY p.source_system, p.source_id ORDER BY p.created_at, p.project_id) AS rn,
         'same_source_record' AS kind
  FROM canon.project p
  WHERE p.source_id IS NOT NULL),
dup AS (
  SELECT * FROM by_sow WHERE rn > 1
  UNION ALL
  SELECT * FROM by_src WHERE rn > 1),
billed AS (
  SELECT i.project_id,
         sum(CAST(round(CASE WHEN i.type = 'credit_note' THEN -abs(i.amount_net) ELSE i.amount_net END * fx.rate, 2)
                  AS DECIMAL(18, 2))) AS billed_rc
  FROM canon.invoice i
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.status NOT IN ('draft', 'cancelled')
  GROUP BY i.project_id)
SELECT 'project' AS entity_type, d.project_id AS entity_id, d.correlation_id,
       CAST(coalesce(b.billed_rc, 0) AS DECIMAL(18, 2)) AS impact_rc, d.client_id, d.sow_id, d.project_id,
       d.legal_entity_id, CAST(d.created_at AS DATE) AS event_date, d.kind
FROM dup d
LEFT JOIN billed b ON b.project_id = d.project_id
