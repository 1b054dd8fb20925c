/* ---
id: Q2C-105
title: Stale source (freshness) - gating
severity: S1
owner: Data Platform
domain: integration
systems: [INT]
description: >
  A source whose newest change (its change cursor, e.g. SystemModstamp) or, without one, whose snapshot is
  older than the source's freshness SLA at the business date, as the freshness monitor observed it in this
  run (results.monitor; the SLA is the source's one setting, [sources.<key>] freshness_sla_hours). Gating -
  every check reading a table the source feeds is reported suppressed, and the source fails the run.
remediation: >
  Re-run the extract; check the collector's logs and credentials, and whether the source system itself
  stopped changing (integration user disabled, sync job stopped).
impact_kind: compliance
stage: data
impact: 0
entity: source (the source key)
gating: true
depends_on: [results.monitor]
--- */
SELECT 'source' AS entity_type, m.source AS entity_id, CAST(NULL AS VARCHAR) AS correlation_id,
       CAST(0 AS DECIMAL(18, 2)) AS impact_rc, m.source AS source_system,
       round(m.value, 1) AS hours_old, m.threshold AS sla_hours,
       json_extract_string(m.detail, '$.newest_change') AS newest_change,
       json_extract_string(m.detail, '$.snapshot_at') AS snapshot_at,
       json_extract_string(m.detail, '$.evaluated_at') AS evaluated_at
FROM results.monitor m
WHERE m.run_id = getvariable('run_id') AND m.monitor = 'freshness' AND m.status = 'breach'
