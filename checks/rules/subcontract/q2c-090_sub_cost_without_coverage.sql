/* ---
id: Q2C-090
title: Subcontractor cost without subcontract / PO coverage
severity: S2
owner: Procurement
domain: subcontract
systems: [ERP, PSA]
description: >
  A project vendor bill with no subcontract, a subcontract that is not executed, a bill date outside the
  subcontract validity, or a subcontract for another project.
remediation: Put the subcontract / PO in place or re-code the bill.
impact_kind: exposure
stage: contract
money: subcontract
impact: round(amount * fx(ccy, bill_date), 2)
entity: vendor_bill
depends_on: [vendor_bill, subcontract, project, fx_rate]
--- */
SELECT 'vendor_bill' AS entity_type, vb.vendor_bill_id AS entity_id, vb.correlation_id,
       CAST(round(vb.amount * fx.rate, 2) AS DECIMAL(18, 2)) AS impact_rc,
       p.client_id, p.sow_id, vb.project_id, p.legal_entity_id, vb.bill_date AS event_date, vb.vendor_id,
       vb.subcontract_id, vb.amount, vb.currency, fx.rate AS fx_rate, vb.bill_date AS fx_date,
       CASE WHEN sc.subcontract_id IS NULL THEN 'no_subcontract' WHEN sc.status <> 'executed' THEN 'not_executed'
            WHEN sc.project_id <> vb.project_id THEN 'other_project' ELSE 'outside_validity' END AS issue
FROM canon.vendor_bill vb
LEFT JOIN canon.subcontract sc ON sc.subcontract_id = vb.subcontract_id
LEFT JOIN canon.project p ON p.project_id = vb.project_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = vb.currency AND fx.d = vb.bill_date
WHERE vb.project_id IS NOT NULL
  AND (sc.subcontract_id IS NULL OR sc.status <> 'executed'
       OR vb.bill_date < sc.valid_from OR vb.bill_date > coalesce(sc.valid_to, DATE '9999-12-31')
       OR sc.project_id <> vb.project_id)
