/* ---
id: Q2C-101
title: Idempotency key processed more than once with different targets
severity: S2
owner: Integration
domain: integration
systems: [INT]
description: >
  Successful integration events sharing an idempotency key and target system point at more than one
  target entity. S1 when the entity type is invoice or payment.
remediation: Remove the duplicate target records; fix the consumer's idempotency handling.
impact_kind: compliance
stage: crm
impact: 0 (count only; duplicate invoices are priced by Q2C-100)
entity: idempotency_key (key:target_system)
depends_on: [integration_event]
--- */
WITH reused AS (
  SELECT e.idempotency_key, e.target_system, min(e.correlation_id) AS correlation_id,
         min(CAST(e.created_at AS DATE)) AS event_date, min(e.entity_type) AS event_entity_type,
         count(DISTINCT e.target_entity_id) AS n_targets,
         max(CASE WHEN e.entity_type IN ('invoice', 'payment') THEN 1 ELSE 0 END) AS money_record,
         count(DISTINCT e.entity_type || '|' || e.entity_id) AS n_sources, min(e.entity_id) AS source_id
  FROM canon.integration_event e
  WHERE e.status = 'success' AND e.idempotency_key IS NOT NULL
  GROUP BY e.idempotency_key, e.target_system
  HAVING count(DISTINCT e.target_entity_id) > 1)
-- the one record the replayed events carry is the money the finding is about (checks/cases.py)
SELECT 'idempotency_key' AS entity_type, r.idempotency_key || ':' || coalesce(r.target_system, '') AS entity_id,
       r.correlation_id, CAST(0 AS DECIMAL(18, 2)) AS impact_rc, r.event_date, r.idempotency_key, r.target_system,
       r.event_entity_type, r.n_targets, CASE WHEN r.money_record = 1 THEN 'S1' END AS severity,
       CASE WHEN r.n_sources = 1 AND r.event_entity_type = 'invoice' THEN r.source_id END AS invoice_id,
       CASE WHEN r.n_sources = 1 AND r.event_entity_type = 'sow' THEN r.source_id END AS sow_id,
       CASE WHEN r.n_sources = 1 AND r.event_entity_type = 'project' THEN r.source_id END AS project_id
FROM reused r
