/* ---
id: Q2C-084
title: Revenue posted to a locked period or after project close
severity: S2
owner: Controller
domain: revenue
systems: [ERP]
description: >
  A revenue line posted after its period was locked (period_lock.lock_ts), or for a period after the
  closed project's close date.
remediation: Reverse and re-post in an open period with controller approval.
impact_kind: compliance
stage: invoice
impact: round(abs(amount) * fx(ccy, as_of), 2); ccy = project currency, else SOW currency
entity: rev_line
depends_on: [revenue_schedule, project, period_lock, sow, fx_rate]
--- */
WITH l AS (
  SELECT rs.rev_line_id, rs.correlation_id, rs.sow_id, rs.project_id, rs.period, rs.amount,
         coalesce(p.currency, s.currency) AS currency, coalesce(p.client_id, s.client_id) AS client_id,
         coalesce(p.legal_entity_id, s.legal_entity_id) AS legal_entity_id, rs.posted_at,
         CASE WHEN EXISTS (SELECT 1 FROM canon.period_lock pl WHERE pl.period = rs.period AND rs.posted_at > pl.lock_ts)
              THEN 'locked_period'
              WHEN p.status = 'closed' AND rs.period > p.closed_date THEN 'after_project_close' END AS issue
  FROM canon.revenue_schedule rs
  LEFT JOIN canon.project p ON p.project_id = rs.project_id
  LEFT JOIN canon.sow s ON s.sow_id = rs.sow_id)
SELECT 'rev_line' AS entity_type, l.rev_line_id AS entity_id, l.correlation_id,
       CAST(round(abs(l.amount) * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       l.client_id, l.sow_id, l.project_id, l.legal_entity_id, l.period AS event_date, l.issue, l.amount, l.posted_at,
       l.currency, fx.rate AS fx_rate, ctx.as_of AS fx_date
FROM l
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = l.currency AND fx.d = ctx.as_of
WHERE l.issue IS NOT NULL
