/* ---
id: Q2C-092
title: Re-billable subcontractor cost not re-billed
severity: S3
owner: Billing Ops
domain: subcontract
systems: [ERP, PSA]
description: >
  A vendor bill under a re-billable subcontract on a TM / TM_CAP project, older than grace_sub_rebill_days,
  with no subcontract invoice line (source_id = vendor_bill_id) and no invoice_line_id.
remediation: Bill the subcontractor cost with the contract markup.
impact_kind: leakage
stage: invoice
money: subcontract
impact: >
  amount at stake rebill_rc = round(rebill * fx(ccy, as_of), 2), rebill = round(amount * (1 + markup_pct), 2) (the
  local `amount` evidence); expected_loss_rc round(rebill_rc * p_leak(as_of - bill_date), 2)
entity: vendor_bill
depends_on: [vendor_bill, subcontract, project, invoice_line, fx_rate]
params:
  grace_sub_rebill_days: 30
--- */
WITH v AS (
  SELECT vb.vendor_bill_id, vb.correlation_id, vb.project_id, p.client_id, p.sow_id, p.legal_entity_id, vb.bill_date,
         vb.amount AS bill_amount, vb.currency, date_diff('day', vb.bill_date, ctx.as_of) AS age_days,
         fx.rate AS fx_rate, ctx.as_of AS fx_date,
         CAST(round(vb.amount * (1 + coalesce(sc.markup_pct, 0)), 2) AS DECIMAL(18, 2)) AS rebill
  FROM canon.vendor_bill vb
  JOIN canon.subcontract sc ON sc.subcontract_id = vb.subcontract_id
  JOIN canon.project p ON p.project_id = vb.project_id
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = vb.currency AND fx.d = ctx.as_of
  WHERE sc.rebillable AND p.billing_type IN ('TM', 'TM_CAP') AND vb.invoice_line_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM canon.invoice_line il
                    WHERE il.line_type = 'subcontract' AND il.source_id = vb.vendor_bill_id)
    AND date_diff('day', vb.bill_date, ctx.as_of) > getvariable('grace_sub_rebill_days')),
r AS (
  SELECT v.*, CAST(round(v.rebill * v.fx_rate, 2) AS DECIMAL(18, 2)) AS rebill_rc FROM v)
SELECT 'vendor_bill' AS entity_type, v.vendor_bill_id AS entity_id, v.correlation_id, v.rebill_rc AS impact_rc,
       CAST(round(v.rebill_rc * pl.p, 2) AS DECIMAL(18, 2)) AS expected_loss_rc,
       v.client_id, v.sow_id, v.project_id, v.legal_entity_id, v.bill_date AS event_date, v.bill_amount,
       v.currency, v.rebill AS amount, v.fx_rate, v.fx_date, v.age_days, pl.p AS p_leak
FROM r v
JOIN chk.p_leak pl ON v.age_days BETWEEN pl.lo AND pl.hi
