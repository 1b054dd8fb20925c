/* ---
id: K03
title: Amendment propagation cycle time
description: >
  Per executed value amendment: business days from signature until budget, revenue contract and (fixed-type
  SOWs) billing schedule were all updated; open backlog count and value (SOW ccy -> USD).
params:
  sla_amend_bd: 5  # business days from an amendment's signature within which it should be propagated
--- */
WITH t AS (
  SELECT a.amendment_id, a.sow_id, a.signed_date, a.value_delta, s.currency, s.billing_type,
         (SELECT min(CAST(p.budget_updated_at AS DATE)) FROM canon.project p
           WHERE p.sow_id = a.sow_id AND CAST(p.budget_updated_at AS DATE) >= a.signed_date) AS t_budget,
         (SELECT min(CAST(b.updated_at AS DATE)) FROM canon.billing_schedule b
           WHERE b.sow_id = a.sow_id AND CAST(b.updated_at AS DATE) >= a.signed_date) AS t_billing,
         (SELECT min(CAST(r.tp_updated_at AS DATE)) FROM canon.revenue_contract r
           WHERE r.sow_id = a.sow_id AND CAST(r.tp_updated_at AS DATE) >= a.signed_date) AS t_rev
  FROM canon.amendment a JOIN canon.sow s ON s.sow_id = a.sow_id
  WHERE a.status = 'executed' AND a.value_delta <> 0 AND a.signed_date <= getvariable('as_of')),
d AS (
  SELECT t.*, CASE WHEN t.billing_type IN ('FF', 'MILESTONE', 'RETAINER', 'MANAGED_SERVICE') THEN t.t_billing
                   ELSE t.t_budget END AS t_bill2
  FROM t),
c AS (
  SELECT d.*, CASE WHEN d.t_budget IS NOT NULL AND d.t_rev IS NOT NULL AND d.t_bill2 IS NOT NULL
                   THEN greatest(d.t_budget, d.t_rev, d.t_bill2) END AS t_done
  FROM d),
x AS (
  SELECT c.*, bd2.bd_no - bd1.bd_no AS prop_bd,
         CAST(round(abs(c.value_delta) * fx.rate, 2) AS DECIMAL(18, 2)) AS delta_rc
  FROM c
  JOIN chk.bd bd1 ON bd1.d = c.signed_date
  LEFT JOIN chk.bd bd2 ON bd2.d = c.t_done
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = c.currency AND fx.d = c.signed_date)
SELECT 'K03' AS kpi_id, 'amendment_propagation_median' AS name, CAST(quantile_cont(prop_bd, 0.5) AS DOUBLE) AS value,
       'business_days' AS unit, 'total' AS slice_kind, 'all' AS slice_value FROM x
UNION ALL SELECT 'K03', 'amendment_propagation_p90', CAST(quantile_cont(prop_bd, 0.9) AS DOUBLE), 'business_days',
       'total', 'all' FROM x
UNION ALL SELECT 'K03', 'amendment_propagation_within_sla',
       CAST(avg(CASE WHEN prop_bd <= getvariable('sla_amend_bd') THEN 1.0 ELSE 0.0 END) AS DOUBLE), 'ratio', 'total', 'all' FROM x
UNION ALL SELECT 'K03', 'amendment_open_backlog', CAST(sum(CASE WHEN t_done IS NULL THEN 1 ELSE 0 END) AS DOUBLE),
       'count', 'total', 'all' FROM x
UNION ALL SELECT 'K03', 'amendment_open_value', CAST(coalesce(sum(CASE WHEN t_done IS NULL THEN delta_rc END), 0) AS DOUBLE),
       'USD', 'total', 'all' FROM x
