/* ---
id: Q2C-107
title: Temporal impossibilities across the chain
severity: S3
owner: Integration / MDM
domain: integration
systems: [CRM, CLM, ERP, PSA]
description: >
  invoice dated before its SOW was signed; payment received before its invoice date; milestone accepted
  before completed; time approved before submitted; project created more than 90 days before its
  opportunity was created.
remediation: Fix the dates at source (usually time-zone or back-dating errors).
impact_kind: compliance
stage: data
impact: 0
entity: invoice, payment, milestone, time_entry or project
depends_on: [invoice, sow, payment, milestone, time_entry, project, opportunity]
--- */
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id, CAST(0 AS DECIMAL(18, 2)) AS impact_rc,
       i.invoice_id, CAST(NULL AS VARCHAR) AS sow_id, CAST(NULL AS VARCHAR) AS project_id, i.invoice_date AS event_date,
       'invoice_before_sow_signed' AS issue
FROM canon.invoice i JOIN canon.sow s ON s.sow_id = i.sow_id
WHERE i.invoice_date < s.signed_date AND i.status <> 'cancelled'
UNION ALL
SELECT 'payment', y.payment_id, y.correlation_id, CAST(0 AS DECIMAL(18, 2)), y.invoice_id, NULL, NULL, y.received_date,
       'payment_before_invoice'
FROM canon.payment y JOIN canon.invoice i ON i.invoice_id = y.invoice_id
WHERE y.received_date < i.invoice_date
UNION ALL
-- a milestone's money is its SOW's (checks/cases.py)
SELECT 'milestone', m.milestone_id, m.correlation_id, CAST(0 AS DECIMAL(18, 2)), NULL, m.sow_id, m.project_id,
       m.accepted_date, 'accepted_before_completed'
FROM canon.milestone m
WHERE m.accepted_date < m.completed_date
UNION ALL
SELECT 'time_entry', t.time_entry_id, t.correlation_id, CAST(0 AS DECIMAL(18, 2)), NULL, NULL, NULL, t.work_date,
       'approved_before_submitted'
FROM canon.time_entry t
WHERE t.approved_at < t.submitted_at
UNION ALL
SELECT 'project', p.project_id, p.correlation_id, CAST(0 AS DECIMAL(18, 2)), NULL, p.sow_id, p.project_id,
       CAST(p.created_at AS DATE), 'project_created_before_opportunity'
FROM canon.project p JOIN canon.sow s ON s.sow_id = p.sow_id JOIN canon.opportunity o ON o.opportunity_id = s.opportunity_id
WHERE date_diff('day', CAST(p.created_at AS DATE), CAST(o.created_at AS DATE)) > 90
