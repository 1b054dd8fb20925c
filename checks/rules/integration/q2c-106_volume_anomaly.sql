/* ---
id: Q2C-106
title: Volume anomaly (partial or doubled extract) - gating
severity: S2
owner: Data Platform
domain: integration
systems: [INT]
description: >
  A stream collected in this run whose row count collapsed below, or rose far above, the median of its
  recent good runs, as the volume monitor observed it (results.monitor; thresholds are the [monitors]
  volume_low_ratio, volume_high_ratio, volume_window and volume_min_history settings). A collapse is a
  partial extract: gating - every check reading a table the source feeds is reported suppressed, and the
  source fails the run. A rise (double load?) is reported at S4 and gates nothing.
remediation: Re-run the extract; compare with the source system's record count.
impact_kind: compliance
stage: data
impact: 0
entity: source_stream (source.stream)
gating: true
depends_on: [results.monitor]
--- */
SELECT 'source_stream' AS entity_type, m.source || '.' || m.stream AS entity_id,
       CAST(NULL AS VARCHAR) AS correlation_id, CAST(0 AS DECIMAL(18, 2)) AS impact_rc,
       CASE WHEN m.status = 'breach' THEN 'S2' ELSE 'S4' END AS severity,
       m.source AS source_system, m.stream, CAST(m.value AS BIGINT) AS row_count,
       m.threshold AS trailing_median,
       CAST(json_extract_string(m.detail, '$.ratio') AS DOUBLE) AS ratio,
       CAST(json_extract_string(m.detail, '$.history') AS INTEGER) AS history,
       m.status = 'breach' AS gates
FROM results.monitor m
WHERE m.run_id = getvariable('run_id') AND m.monitor = 'volume' AND m.status IN ('breach', 'warning')
