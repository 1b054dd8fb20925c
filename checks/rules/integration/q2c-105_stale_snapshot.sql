/* ---
id: Q2C-105
title: Stale snapshot (freshness) - gating
severity: S1
owner: Data Platform
domain: integration
systems: [INT]
description: >
  A source table listed in canon.freshness_sla whose latest 'ok' snapshot is older than sla_min minutes
  before as_of_ts (or has no ok snapshot). Gating - checks depending on the table (snapshot_meta.table_name
  = canonical table name) are reported suppressed.
remediation: Re-run the extract; check the collector's logs and credentials.
impact_kind: compliance
stage: data
impact: 0
entity: source_table (source_system.table_name)
gating: true
depends_on: [snapshot_meta, freshness_sla]
--- */
WITH last_ok AS (
  SELECT sm.source_system, sm.table_name, max(sm.snapshot_ts) AS last_ok
  FROM canon.snapshot_meta sm
  WHERE sm.extract_status = 'ok'
  GROUP BY sm.source_system, sm.table_name)
SELECT 'source_table' AS entity_type, f.source_system || '.' || f.table_name AS entity_id,
       CAST(NULL AS VARCHAR) AS correlation_id, CAST(0 AS DECIMAL(18, 2)) AS impact_rc,
       f.source_system, f.table_name, CAST(l.last_ok AS VARCHAR) AS last_ok, f.sla_min
FROM canon.freshness_sla f
CROSS JOIN chk.ctx ctx
LEFT JOIN last_ok l ON l.source_system = f.source_system AND l.table_name = f.table_name
WHERE l.last_ok IS NULL OR l.last_ok < ctx.as_of_ts - f.sla_min * INTERVAL '1' MINUTE
