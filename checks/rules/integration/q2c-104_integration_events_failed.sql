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
impact: >
  the money the event carries, in reporting currency: an invoice event the referenced invoice's gross (entity_id),
  round(amount_gross * fx(ccy, invoice_date), 2); a payment event the payment's amount, round(amount * fx(ccy,
  received_date), 2), on the invoice it pays; other events (SOW, opportunity, project) 0
entity: integration_event
depends_on: [integration_event, invoice, payment, fx_rate]
params:
  int_sla_hours: 24
--- */
WITH e AS (
  SELECT e.event_id, e.correlation_id, e.created_at, e.status, e.entity_type, e.entity_id, e.target_system,
         e.attempt, e.error_message
  FROM canon.integration_event e
  CROSS JOIN chk.ctx ctx
  WHERE e.status IN ('failed', 'dead_letter', 'retrying')
    AND e.created_at < ctx.as_of_ts - getvariable('int_sla_hours') * INTERVAL '1' HOUR
    AND NOT EXISTS (SELECT 1 FROM canon.integration_event s
                    WHERE s.idempotency_key = e.idempotency_key AND s.status = 'success' AND s.event_id <> e.event_id)),
-- The money the event carries: the invoice it names, or the payment it names (and the invoice that payment pays).
-- The keys are NULL unless the event is about that entity type: equality (hash) joins; the ON clause
-- `e.entity_type = 'invoice' AND i.invoice_id = e.entity_id` planned as a nested-loop join over all invoices.
m AS (
  SELECT e.*, y.payment_id, coalesce(i.invoice_id, y.invoice_id) AS invoice_id,
         CASE WHEN i.invoice_id IS NOT NULL THEN i.currency ELSE y.currency END AS currency,
         CASE WHEN i.invoice_id IS NOT NULL THEN i.amount_gross ELSE y.amount END AS amount,
         CASE WHEN i.invoice_id IS NOT NULL THEN i.invoice_date ELSE y.received_date END AS fx_date
  FROM e
  LEFT JOIN canon.invoice i ON i.invoice_id = CASE WHEN e.entity_type = 'invoice' THEN e.entity_id END
  LEFT JOIN canon.payment y ON y.payment_id = CASE WHEN e.entity_type = 'payment' THEN e.entity_id END)
SELECT 'integration_event' AS entity_type, m.event_id AS entity_id, m.correlation_id,
       CAST(coalesce(round(m.amount * fx.rate, 2), 0) AS DECIMAL(18, 2)) AS impact_rc,
       -- the record the event carries is the money its finding is about (checks/cases.py): the invoice it
       -- names (even one the ERP does not hold), else the SOW or project it names
       inv.client_id, coalesce(inv.sow_id, CASE WHEN m.entity_type = 'sow' THEN m.entity_id END) AS sow_id,
       coalesce(inv.project_id, CASE WHEN m.entity_type = 'project' THEN m.entity_id END) AS project_id,
       coalesce(m.invoice_id, CASE WHEN m.entity_type = 'invoice' THEN m.entity_id END) AS invoice_id,
       CAST(m.created_at AS DATE) AS event_date,
       m.status, m.entity_type AS event_entity_type, m.entity_id AS event_entity_id, m.target_system, m.attempt,
       m.error_message, m.payment_id, m.currency, m.amount, fx.rate AS fx_rate, m.fx_date
FROM m
LEFT JOIN canon.invoice inv ON inv.invoice_id = m.invoice_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = m.currency AND fx.d = m.fx_date
