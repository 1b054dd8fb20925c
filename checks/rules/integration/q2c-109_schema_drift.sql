/* ---
id: Q2C-109
title: Schema drift (fields added, removed or retyped)
severity: S2
owner: Data Platform
domain: integration
systems: [INT]
description: >
  A stream whose fields changed since the last published run, as the schema monitor observed it
  (results.monitor). A field the source stopped sending is S2 and, with [monitors] drift_removed =
  'critical', fails the source for the run (its checks are suppressed); fields added or retyped are S4.
remediation: >
  Ask the source's owner whether the change was intended; map a renamed field in the source's config,
  or restore the integration user's access to it.
impact_kind: compliance
stage: data
impact: 0
entity: source_stream (source.stream)
depends_on: [results.monitor]
--- */
SELECT 'source_stream' AS entity_type, m.source || '.' || m.stream AS entity_id,
       CAST(NULL AS VARCHAR) AS correlation_id, CAST(0 AS DECIMAL(18, 2)) AS impact_rc,
       CASE WHEN json_extract(m.detail, '$.removed') IS NOT NULL THEN 'S2' ELSE 'S4' END AS severity,
       m.source AS source_system, m.stream, m.status AS verdict,
       json_extract(m.detail, '$.removed') AS fields_removed,
       json_extract(m.detail, '$.added') AS fields_added,
       json_extract(m.detail, '$.retyped') AS fields_retyped
FROM results.monitor m
WHERE m.run_id = getvariable('run_id') AND m.monitor = 'schema' AND m.status IN ('breach', 'warning')
