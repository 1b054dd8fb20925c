/* ---
id: Q2C-106
title: Snapshot volume anomaly (partial or doubled extract) - gating
severity: S2
owner: Data Platform
domain: integration
systems: [INT]
description: >
  The latest 'ok' snapshot of a source table has fewer than vol_low_ratio or more than vol_high_ratio times
  the median row count of up to vol_window previous ok snapshots (at least vol_min_history of them).
  Gating - checks depending on the table are reported suppressed.
remediation: Re-run the extract; compare with the source system's record count.
impact_kind: compliance
stage: data
impact: 0
entity: source_table (source_system.table_name)
gating: true
depends_on: [snapshot_meta]
params:
  vol_low_ratio: 0.8
  vol_high_ratio: 1.5
  vol_window: 14
  vol_min_history: 3
--- */
WITH r AS (
  SELECT sm.source_system, sm.table_name, sm.snapshot_ts, sm.row_count,
         row_number() OVER (PARTITION BY sm.source_system, sm.table_name ORDER BY sm.snapshot_ts DESC) AS rn
  FROM canon.snapshot_meta sm
  WHERE sm.extract_status = 'ok'),
hist AS (
  SELECT source_system, table_name, quantile_cont(row_count, 0.5) AS trailing_median, count(*) AS n
  FROM r WHERE rn BETWEEN 2 AND getvariable('vol_window') + 1
  GROUP BY source_system, table_name)
SELECT 'source_table' AS entity_type, l.source_system || '.' || l.table_name AS entity_id,
       CAST(NULL AS VARCHAR) AS correlation_id, CAST(0 AS DECIMAL(18, 2)) AS impact_rc,
       l.source_system, l.table_name, l.row_count, h.trailing_median, h.n AS history
FROM r l
JOIN hist h ON h.source_system = l.source_system AND h.table_name = l.table_name
WHERE l.rn = 1 AND h.n >= getvariable('vol_min_history')
  AND (l.row_count < getvariable('vol_low_ratio') * h.trailing_median
       OR l.row_count > getvariable('vol_high_ratio') * h.trailing_median)
