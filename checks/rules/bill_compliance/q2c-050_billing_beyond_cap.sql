/* ---
id: Q2C-050
title: Cumulative billing beyond cap / not-to-exceed
severity: S1
owner: Billing Ops / PM
domain: bill_compliance
systems: [ERP, CLM]
description: >
  Fees billed on a capped SOW (lines other than re-billed expenses and subcontractor pass-through, on posted
  invoices in the SOW currency that no live credit note credits) exceed the effective (amended) cap by more
  than cap_tol_pct. The NTE caps fees (the PSA's time_cap billing rule); pass-through costs sit outside it.
  The catalog's S4 early warning (consumption >= 90 %) is not reported: a warning is not a defect.
remediation: Credit the overage or get a change order raising the cap.
impact_kind: exposure
stage: invoice
money: scope
impact: round((billed_fees - eff_cap_amount) * fx(sow ccy, as_of), 2)
entity: sow
depends_on: [invoice, invoice_line, sow, amendment, contract, fx_rate]
params:
  cap_tol_pct: 0
--- */
WITH billed AS (
  SELECT i.sow_id, i.currency, max(i.invoice_date) AS last_invoice_date, sum(il.amount) AS billed_fees
  FROM canon.invoice i
  JOIN canon.invoice_line il ON il.invoice_id = i.invoice_id
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled')
    AND il.line_type NOT IN ('expense', 'subcontract')
    AND NOT EXISTS (SELECT 1 FROM canon.invoice cn
                    WHERE cn.type = 'credit_note' AND cn.source_ref = i.invoice_id
                      AND cn.status NOT IN ('draft', 'cancelled'))
  GROUP BY i.sow_id, i.currency)
SELECT 'sow' AS entity_type, se.sow_id AS entity_id, se.correlation_id,
       CAST(round((b.billed_fees - se.eff_cap_amount) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       se.client_id, se.sow_id, se.legal_entity_id, b.last_invoice_date AS event_date, se.eff_cap_amount,
       b.billed_fees, round(b.billed_fees / se.eff_cap_amount, 4) AS consumption, se.currency,
       b.billed_fees - se.eff_cap_amount AS amount, fx.rate AS fx_rate, ctx.as_of AS fx_date
FROM chk.sow_effective se
JOIN billed b ON b.sow_id = se.sow_id AND b.currency = se.currency
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = se.currency AND fx.d = ctx.as_of
WHERE se.eff_cap_amount IS NOT NULL AND se.eff_cap_amount > 0
  AND b.billed_fees > se.eff_cap_amount * (1 + getvariable('cap_tol_pct'))
