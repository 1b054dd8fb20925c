/* ---
id: Q2C-062
title: Amendment not reflected in the revenue contract (modification accounting)
severity: S1
owner: Revenue Accounting
domain: amendments
systems: [CLM, ERP]
description: >
  For a SOW with a revenue contract, its latest executed value amendment (signed more than
  grace_amend_bd business days ago) is not in the transaction price: the price differs from eff_value,
  or it was last updated before the amendment was signed.
remediation: Update the transaction price and apply modification accounting (ASC 606-10-25-12/13).
impact_kind: compliance
stage: schedule
impact: round(abs(eff_value - transaction_price) * fx(sow ccy, signed_date), 2)
entity: amendment
grace: grace_amend_bd
depends_on: [amendment, sow, contract, revenue_contract, calendar, fx_rate]
params:
  grace_amend_bd: 5
--- */
WITH am AS (
  SELECT a.amendment_id, a.sow_id, a.correlation_id, a.value_delta, a.signed_date,
         row_number() OVER (PARTITION BY a.sow_id ORDER BY a.amendment_no DESC) AS rn
  FROM canon.amendment a
  WHERE a.status = 'executed' AND a.value_delta <> 0 AND a.effective_date <= getvariable('as_of')),
rev AS (
  SELECT r.sow_id, max(r.transaction_price) AS tp, max(r.tp_updated_at) AS tp_updated_at
  FROM canon.revenue_contract r GROUP BY r.sow_id)
SELECT 'amendment' AS entity_type, a.amendment_id AS entity_id, a.correlation_id,
       CAST(round(abs(se.eff_value - r.tp) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       se.client_id, a.sow_id, se.legal_entity_id, a.signed_date AS event_date, a.value_delta, se.eff_value,
       r.tp AS transaction_price, CAST(r.tp_updated_at AS DATE) AS tp_updated_date, ctx.as_of_bd - b.bd_no AS age_bd,
       se.currency, abs(se.eff_value - r.tp) AS amount, fx.rate AS fx_rate, a.signed_date AS fx_date
FROM am a
JOIN chk.sow_effective se ON se.sow_id = a.sow_id
JOIN rev r ON r.sow_id = a.sow_id
CROSS JOIN chk.ctx ctx
JOIN chk.bd b ON b.d = a.signed_date
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = se.currency AND fx.d = a.signed_date
WHERE a.rn = 1 AND ctx.as_of_bd - b.bd_no > getvariable('grace_amend_bd')
  AND (abs(r.tp - se.eff_value) > 0.01 OR r.tp_updated_at IS NULL OR CAST(r.tp_updated_at AS DATE) < a.signed_date)
