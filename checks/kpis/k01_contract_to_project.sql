/* ---
id: K01
title: Contract signature to project creation
description: >
  Contract signature -> first project creation, business days (firm calendar); SOWs without a project count
  against the SLA once older than it (right-censored, reported as share_open).
params:
  sla_sow_to_project_bd: 5  # business days from signature within which a SOW's project should exist
--- */
WITH s AS (
  SELECT s.sow_id, s.legal_entity_id, CAST(date_trunc('month', s.signed_date) AS DATE) AS m,
         bp.bd_no - bs.bd_no AS lead_bd, ctx.as_of_bd - bs.bd_no AS age_bd, p.first_created
  FROM canon.sow s
  CROSS JOIN chk.ctx ctx
  JOIN chk.bd bs ON bs.d = s.signed_date
  LEFT JOIN (SELECT sow_id, min(CAST(created_at AS DATE)) AS first_created FROM canon.project
             WHERE coalesce(status, '') <> 'cancelled' GROUP BY sow_id) p ON p.sow_id = s.sow_id
  LEFT JOIN chk.bd bp ON bp.d = p.first_created
  WHERE s.status IN ('executed', 'completed') AND s.signed_date <= ctx.as_of),
sl AS (
  SELECT 'total' AS slice_kind, 'all' AS slice_value, s.* FROM s
  UNION ALL SELECT 'legal_entity', s.legal_entity_id, s.* FROM s
  UNION ALL SELECT 'month', CAST(s.m AS VARCHAR), s.* FROM s),
g AS (
  SELECT slice_kind, slice_value,
         quantile_cont(lead_bd, 0.5) AS median_bd, quantile_cont(lead_bd, 0.9) AS p90_bd,
         avg(CASE WHEN coalesce(lead_bd, age_bd) <= getvariable('sla_sow_to_project_bd') THEN 1.0 ELSE 0.0 END) AS sla,
         avg(CASE WHEN first_created IS NULL THEN 1.0 ELSE 0.0 END) AS share_open
  FROM sl GROUP BY slice_kind, slice_value)
SELECT 'K01' AS kpi_id, 'contract_to_project_median' AS name, CAST(median_bd AS DOUBLE) AS value,
       'business_days' AS unit, slice_kind, slice_value FROM g
UNION ALL SELECT 'K01', 'contract_to_project_p90', CAST(p90_bd AS DOUBLE), 'business_days', slice_kind, slice_value FROM g
UNION ALL SELECT 'K01', 'contract_to_project_within_sla', CAST(sla AS DOUBLE), 'ratio', slice_kind, slice_value FROM g
UNION ALL SELECT 'K01', 'contract_to_project_share_open', CAST(share_open AS DOUBLE), 'ratio', slice_kind, slice_value FROM g
