/* ---
id: Q2C-045
title: Cross-entity (intercompany) time without an intercompany agreement
severity: S2
owner: Controller / Tax
domain: master_data
systems: [PSA, ERP]
description: >
  Time booked by a resource of one legal entity on a project of another, with no intercompany agreement
  (supplier = resource entity, buyer = project entity) valid on the work date. One finding per project.
remediation: Put the intercompany agreement in place and book the intercompany charge.
impact_kind: exposure
stage: project
money: intercompany_cost
impact: round(sum(hours * cost_rate) * fx(project ccy, as_of), 2)
entity: project
depends_on: [time_entry, project, intercompany_agreement, fx_rate]
--- */
WITH t AS (
  SELECT p.project_id, p.correlation_id, p.client_id, p.sow_id, p.legal_entity_id, p.currency,
         t.resource_legal_entity_id, t.work_date, t.hours, coalesce(t.cost_rate, 0) AS cost_rate
  FROM canon.time_entry t
  JOIN canon.project p ON p.project_id = t.project_id
  WHERE t.resource_legal_entity_id IS NOT NULL AND t.resource_legal_entity_id <> p.legal_entity_id
    AND NOT EXISTS (SELECT 1 FROM canon.intercompany_agreement ia
                    WHERE ia.supplier_le = t.resource_legal_entity_id AND ia.buyer_le = p.legal_entity_id
                      AND t.work_date >= ia.valid_from AND t.work_date <= coalesce(ia.valid_to, DATE '9999-12-31')))
SELECT 'project' AS entity_type, t.project_id AS entity_id, min(t.correlation_id) AS correlation_id,
       CAST(round(sum(t.hours * t.cost_rate) * min(fx.rate), 2) AS DECIMAL(18, 2)) AS impact_rc,
       min(t.client_id) AS client_id, min(t.sow_id) AS sow_id, t.project_id, min(t.legal_entity_id) AS legal_entity_id,
       min(t.work_date) AS event_date, min(t.resource_legal_entity_id) AS supplier_le,
       count(DISTINCT t.resource_legal_entity_id) AS n_supplier_les, sum(t.hours) AS hours,
       min(t.currency) AS currency, sum(t.hours * t.cost_rate) AS amount, min(fx.rate) AS fx_rate,
       min(ctx.as_of) AS fx_date
FROM t
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = t.currency AND fx.d = ctx.as_of
GROUP BY t.project_id
