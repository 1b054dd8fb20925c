/* ---
id: Q2C-074
title: Overdue AR without collection action or dispute record
severity: S3
owner: AR
domain: cash_crm
systems: [ERP]
description: >
  A posted or partially paid invoice more than dpd_074 past due with an open amount, no
  collection action on or after the due date and no open dispute. S2 over 60 days past due.
remediation: Start dunning, or log the dispute.
impact_kind: leakage
stage: cash
impact: >
  amount at stake round(open * fx(ccy, invoice_date), 2), open = gross - payments applied - credit notes;
  expected_loss_rc round(that * p_leak(days past due), 2)
entity: invoice
depends_on: [invoice, payment, collection_action, dispute, fx_rate]
params:
  dpd_074: 15
--- */
WITH o AS (
  SELECT o.*, i.correlation_id, i.sow_id, i.project_id, date_diff('day', o.due_date, ctx.as_of) AS dpd,
         fx.rate AS fx_rate, CAST(round(o.open_amount * fx.rate, 2) AS DECIMAL(18, 2)) AS open_rc
  FROM chk.invoice_open o
  JOIN canon.invoice i ON i.invoice_id = o.invoice_id
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = o.currency AND fx.d = o.invoice_date
  WHERE i.status IN ('posted', 'partially_paid') AND o.open_amount > 0.01
    AND date_diff('day', o.due_date, ctx.as_of) > getvariable('dpd_074')
    AND NOT EXISTS (SELECT 1 FROM canon.collection_action ca
                    WHERE ca.invoice_id = o.invoice_id AND ca.action_date >= o.due_date AND ca.action_date <= ctx.as_of)
    AND NOT EXISTS (SELECT 1 FROM canon.dispute d
                    WHERE d.invoice_id = o.invoice_id AND d.opened <= ctx.as_of AND (d.closed IS NULL OR d.closed > ctx.as_of)))
SELECT 'invoice' AS entity_type, o.invoice_id AS entity_id, o.correlation_id,
       o.open_rc AS impact_rc, CAST(round(o.open_rc * pl.p, 2) AS DECIMAL(18, 2)) AS expected_loss_rc,
       o.client_id, o.sow_id, o.project_id, o.invoice_id, o.legal_entity_id, o.due_date AS event_date,
       o.dpd AS days_past_due, o.open_amount, o.currency, o.open_amount AS amount, o.fx_rate, o.invoice_date AS fx_date, pl.p AS p_leak,
       CASE WHEN o.dpd > 60 THEN 'S2' END AS severity
FROM o
JOIN chk.p_leak pl ON o.dpd BETWEEN pl.lo AND pl.hi
