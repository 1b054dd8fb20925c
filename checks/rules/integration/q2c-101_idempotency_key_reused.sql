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
SELECT 'idempotency_key' AS entity_type, e.idempotency_key || ':' || coalesce(e.target_system, '') AS entity_id,
       min(e.correlation_id) AS correlation_id, CAST(0 AS DECIMAL(18, 2)) AS impact_rc,
       min(CAST(e.created_at AS DATE)) AS event_date, e.idempotency_key, e.target_system,
       min(e.entity_type) AS event_entity_type, count(DISTINCT e.target_entity_id) AS n_targets,
       CASE WHEN max(CASE WHEN e.entity_type IN ('invoice', 'payment') THEN 1 ELSE 0 END) = 1 THEN 'S1' END AS severity
FROM canon.integration_event e
WHERE e.status = 'success' AND e.idempotency_key IS NOT NULL
GROUP BY e.idempotency_key, e.target_system
HAVING count(DISTINCT e.target_entity_id) > 1
