/* ---
id: Q2C-061
title: Executed amendment not in billing (schedule, rates, cap or end date)
severity: S2
owner: Billing Ops
domain: amendments
systems: [CLM, PSA, ERP]
description: >
  (a) schedule: on FF / MILESTONE / RETAINER / MANAGED_SERVICE SOWs the latest value amendment (signed
  more than grace_amend_bd business days ago) is not in the billing schedule (schedule total in SOW
  currency differs from eff_value); (b) rate: time worked on or after an amendment's effective date in
  the new rate card's role is billed at a unit price other than the new rate; (c) cap_or_end: the latest
  cap / end-date amendment is not in the PSA billing rule cap or the project end date.
remediation: Propagate the amendment to the billing schedule, rate card, billing rule and project dates.
impact_kind: leakage
stage: schedule
impact: >
  (a) round(abs(eff_value - sched_total) * fx(sow ccy, signed_date), 2) + (b) sum over lines of
  round(abs(new_rate - unit_price) * quantity * fx(invoice ccy, invoice_date), 2) + (c) 0
entity: amendment
grace: grace_amend_bd
depends_on: [amendment, sow, contract, billing_schedule, rate_card, project, time_entry, invoice_line, invoice, billing_rule, calendar, fx_rate]
params:
  grace_amend_bd: 5
--- */
WITH am AS (
  SELECT a.*, ctx.as_of_bd - b.bd_no AS age_bd,
         row_number() OVER (PARTITION BY a.sow_id, CASE WHEN a.value_delta <> 0 THEN 1 ELSE 0 END
                            ORDER BY a.amendment_no DESC) AS rn_value,
         row_number() OVER (PARTITION BY a.sow_id, CASE WHEN a.new_cap_amount IS NOT NULL THEN 1 ELSE 0 END
                            ORDER BY a.amendment_no DESC) AS rn_cap,
         row_number() OVER (PARTITION BY a.sow_id, CASE WHEN a.new_end_date IS NOT NULL THEN 1 ELSE 0 END
                            ORDER BY a.amendment_no DESC) AS rn_end
  FROM canon.amendment a
  CROSS JOIN chk.ctx ctx
  LEFT JOIN chk.bd b ON b.d = a.signed_date
  WHERE a.status = 'executed' AND a.effective_date <= ctx.as_of),
sched AS (
  SELECT bs.sow_id, bs.currency, sum(bs.amount) AS sched_total FROM canon.billing_schedule bs
  GROUP BY bs.sow_id, bs.currency),
part_a AS (
  SELECT a.amendment_id, 'schedule' AS what,
         CAST(round(abs(se.eff_value - s.sched_total) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc
  FROM am a
  JOIN chk.sow_effective se ON se.sow_id = a.sow_id
  JOIN sched s ON s.sow_id = a.sow_id AND s.currency = se.currency
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = se.currency AND fx.d = a.signed_date
  WHERE a.value_delta <> 0 AND a.rn_value = 1 AND a.age_bd > getvariable('grace_amend_bd')
    AND se.billing_type IN ('FF', 'MILESTONE', 'RETAINER', 'MANAGED_SERVICE')
    AND abs(se.eff_value - s.sched_total) > 0.01),
part_b AS (
  SELECT a.amendment_id, 'rate' AS what,
         sum(CAST(round(abs(CAST(round(rn.bill_rate * (1 - coalesce(rn.discount_pct, 0)), 2) AS DECIMAL(18, 2))
                            - il.unit_price) * il.quantity * fx.rate, 2) AS DECIMAL(18, 2))) AS impact_rc
  FROM am a
  JOIN canon.rate_card rn ON rn.rate_card_id = a.new_rate_card_id
  JOIN canon.project p ON p.sow_id = a.sow_id
  JOIN chk.time_line il ON il.project_id = p.project_id AND il.role = rn.role AND il.work_date >= a.effective_date
                        AND il.work_date <= coalesce(rn.valid_to, DATE '9999-12-31')
  JOIN canon.invoice i ON i.invoice_id = il.invoice_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
  WHERE i.type = 'invoice' AND i.status NOT IN ('draft', 'cancelled') AND i.currency = rn.currency
    AND abs(il.unit_price - CAST(round(rn.bill_rate * (1 - coalesce(rn.discount_pct, 0)), 2) AS DECIMAL(18, 2))) > 0.01
  GROUP BY a.amendment_id),
part_c AS (
  SELECT DISTINCT a.amendment_id, 'cap_or_end' AS what, CAST(0 AS DECIMAL(18, 2)) AS impact_rc
  FROM am a
  JOIN chk.sow_effective se ON se.sow_id = a.sow_id
  JOIN canon.project p ON p.sow_id = a.sow_id AND coalesce(p.status, '') <> 'cancelled'
  LEFT JOIN canon.billing_rule br ON br.project_id = p.project_id
  WHERE a.age_bd > getvariable('grace_amend_bd')
    AND ((a.new_cap_amount IS NOT NULL AND a.rn_cap = 1 AND br.project_id IS NOT NULL
          AND (br.cap IS NULL OR br.cap <> se.eff_cap_amount))
      OR (a.new_end_date IS NOT NULL AND a.rn_end = 1 AND p.end_date < se.eff_end_date))),
parts AS (
  SELECT * FROM part_a UNION ALL SELECT * FROM part_b UNION ALL SELECT * FROM part_c)
SELECT 'amendment' AS entity_type, x.amendment_id AS entity_id, min(a.correlation_id) AS correlation_id,
       CAST(sum(x.impact_rc) AS DECIMAL(18, 2)) AS impact_rc, min(s.client_id) AS client_id, min(a.sow_id) AS sow_id,
       min(s.legal_entity_id) AS legal_entity_id, min(a.signed_date) AS event_date,
       concat_ws(',', max(CASE WHEN x.what = 'schedule' THEN 'schedule' END), max(CASE WHEN x.what = 'rate' THEN 'rate' END),
                 max(CASE WHEN x.what = 'cap_or_end' THEN 'cap_or_end' END)) AS what,
       min(a.age_bd) AS age_bd
FROM parts x
JOIN am a ON a.amendment_id = x.amendment_id
LEFT JOIN canon.sow s ON s.sow_id = a.sow_id
GROUP BY x.amendment_id
