/* ---
id: Q2C-104
title: Integration events failed or dead-lettered beyond SLA
severity: S2
owner: Integration
domain: integration
systems: [INT]
description: >
  An integration event in status failed, dead_letter or retrying created more than int_sla_hours before
  as_of_ts, with no successful event for the same idempotency key.
remediation: Replay or fix the event; check the target record by correlation ID.
impact_kind: cash
stage: crm
impact: for invoice events round(amount_gross of the referenced invoice (entity_id) * fx(ccy, invoice_date), 2), else 0
entity: integration_event
depends_on: [integration_event, invoice, fx_rate]
params:
  int_sla_hours: 24
--- */
SELECT 'integration_event' AS entity_type, e.event_id AS entity_id, e.correlation_id,
       CAST(coalesce(round(i.amount_gross * fx.rate, 2), 0) AS DECIMAL(18, 2)) AS impact_rc,
       -- the record the event carries is the money its finding is about (checks/cases.py): the invoice it
       -- names (even one the ERP does not hold), else the SOW or project it names
       i.client_id, coalesce(i.sow_id, CASE WHEN e.entity_type = 'sow' THEN e.entity_id END) AS sow_id,
       coalesce(i.project_id, CASE WHEN e.entity_type = 'project' THEN e.entity_id END) AS project_id,
       CASE WHEN e.entity_type = 'invoice' THEN e.entity_id END AS invoice_id, CAST(e.created_at AS DATE) AS event_date,
       e.status, e.entity_type AS event_entity_type, e.entity_id AS event_entity_id, e.target_system, e.attempt,
       e.error_message
FROM canon.integration_event e
CROSS JOIN chk.ctx ctx
-- The invoice key is NULL unless the event is about an invoice: an equality (hash) join; the ON clause
-- `e.entity_type = 'invoice' AND i.invoice_id = e.entity_id` planned as a nested-loop join over all invoices.
LEFT JOIN canon.invoice i ON i.invoice_id = CASE WHEN e.entity_type = 'invoice' THEN e.entity_id END
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE e.status IN ('failed', 'dead_letter', 'retrying')
  AND e.created_at < ctx.as_of_ts - getvariable('int_sla_hours') * INTERVAL '1' HOUR
  AND NOT EXISTS (SELECT 1 FROM canon.integration_event s
                  WHERE s.idempotency_key = e.idempotency_key AND s.status = 'success' AND s.event_id <> e.event_id)
