/* ---
id: Q2C-012
title: Project header differs from SOW terms
severity: S3
owner: PMO
domain: contract_to_project
systems: [PSA, CLM]
description: >
  A project's billing type, dates, PO, payment terms or budget disagree with the amendment-adjusted SOW:
  billing_type differs (S2); start more than start_tol_days before the SOW start; end after the effective
  end date; PO or terms differ where both are set; budget differs from eff_value on FF / MILESTONE /
  TM_CAP / RETAINER, unless the budget equals the SOW value as of an earlier executed amendment (or the original
  value): a budget an amendment never reached is stale, and Q2C-060 reports that amendment.
remediation: Correct the project header in the PSA to the executed terms.
impact_kind: compliance
stage: project
impact: round(abs(budget_amount - eff_value) * fx(currency, as_of), 2) when 'budget' is among the mismatches, else 0
entity: project
depends_on: [project, sow, amendment, contract, fx_rate]
params:
  start_tol_days: 7
--- */
WITH stale AS (
  SELECT s.sow_id, s.value AS v FROM canon.sow s
  UNION ALL
  SELECT a.sow_id, s.value + sum(coalesce(a.value_delta, 0)) OVER (PARTITION BY a.sow_id ORDER BY a.amendment_no
                                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS v
  FROM canon.amendment a
  JOIN canon.sow s ON s.sow_id = a.sow_id
  WHERE a.status = 'executed' AND a.effective_date <= getvariable('as_of')),
m AS (
  SELECT p.project_id, p.correlation_id, p.client_id, se.sow_id, p.legal_entity_id, p.start_date,
         se.currency, p.budget_amount, se.eff_value, p.billing_type, se.billing_type AS sow_billing_type,
         CASE WHEN p.billing_type <> se.billing_type THEN 1 ELSE 0 END AS bt,
         CASE WHEN date_diff('day', p.start_date, se.start_date) > getvariable('start_tol_days') THEN 1 ELSE 0 END AS sd,
         CASE WHEN p.end_date > se.eff_end_date THEN 1 ELSE 0 END AS ed,
         CASE WHEN p.po_number IS NOT NULL AND se.po_number IS NOT NULL AND p.po_number <> se.po_number
              THEN 1 ELSE 0 END AS po,
         CASE WHEN p.payment_terms_days IS NOT NULL AND se.eff_payment_terms_days IS NOT NULL
               AND p.payment_terms_days <> se.eff_payment_terms_days THEN 1 ELSE 0 END AS pt,
         CASE WHEN se.billing_type IN ('FF', 'MILESTONE', 'TM_CAP', 'RETAINER')
               AND p.budget_amount IS NOT NULL AND p.budget_amount <> se.eff_value
               AND NOT EXISTS (SELECT 1 FROM stale st WHERE st.sow_id = p.sow_id AND st.v = p.budget_amount)
              THEN 1 ELSE 0 END AS bu
  FROM canon.project p
  JOIN chk.sow_effective se ON se.sow_id = p.sow_id
  WHERE coalesce(p.status, '') <> 'cancelled')
SELECT 'project' AS entity_type, m.project_id AS entity_id, m.correlation_id,
       CAST(CASE WHEN m.bu = 1 THEN round(abs(m.budget_amount - m.eff_value) * fx.rate, 2) ELSE 0 END
            AS DECIMAL(18, 2)) AS impact_rc,
       m.client_id, m.sow_id, m.project_id, m.legal_entity_id, m.start_date AS event_date,
       concat_ws(',', CASE WHEN m.bt = 1 THEN 'billing_type' END, CASE WHEN m.sd = 1 THEN 'start_before_sow' END,
                 CASE WHEN m.ed = 1 THEN 'end_after_sow' END, CASE WHEN m.po = 1 THEN 'po' END,
                 CASE WHEN m.pt = 1 THEN 'payment_terms' END, CASE WHEN m.bu = 1 THEN 'budget' END) AS mismatches,
       m.billing_type, m.sow_billing_type, m.budget_amount, m.eff_value, m.currency,
       CASE WHEN m.bu = 1 THEN abs(m.budget_amount - m.eff_value) END AS amount, fx.rate AS fx_rate,
       ctx.as_of AS fx_date,
       CASE WHEN m.bt = 1 THEN 'S2' END AS severity
FROM m
CROSS JOIN chk.ctx ctx
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = m.currency AND fx.d = ctx.as_of
WHERE m.bt + m.sd + m.ed + m.po + m.pt + m.bu > 0
