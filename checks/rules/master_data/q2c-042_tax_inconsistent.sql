/* ---
id: Q2C-042
title: Tax code, rate or exemption inconsistent with the tax matrix
severity: S2
owner: Tax
domain: master_data
systems: [ERP, CLM]
description: >
  A non-tax line on a posted invoice whose tax_rate differs (by more than 0.0001) from the matrix rate for
  seller country (invoicing entity), buyer bill-to country and service category on the invoice date
  (0 for tax-exempt clients), or that is reverse-charge for a buyer without tax id, or that has no matrix
  row at all (only when the firm loads a tax matrix).
remediation: Correct the tax code / rate and re-issue.
impact_kind: exposure
stage: invoice
impact: round(abs(line amount * (tax_rate - expected_rate)) * fx(ccy, invoice_date), 2); 0 for missing matrix row / reverse charge without tax id
entity: invoice_line
depends_on: [invoice_line, invoice, client, legal_entity, tax_matrix, fx_rate]
--- */
-- The tax test runs on the lines' narrow columns plus one small row per posted invoice (its matrix keys); the
-- invoice's wide columns are joined to the failing lines only, not carried on all 11M lines.
WITH inv AS (
  SELECT i.invoice_id, i.invoice_date, le.country AS seller_key, coalesce(c.bill_to_country, c.country) AS buyer_key,
         c.tax_exempt, c.tax_id
  FROM canon.invoice i
  JOIN canon.client c ON c.client_id = i.client_id
  JOIN canon.legal_entity le ON le.legal_entity_id = i.legal_entity_id
  WHERE i.status NOT IN ('draft', 'cancelled') AND EXISTS (SELECT 1 FROM canon.tax_matrix)),
l AS (
  SELECT il.invoice_line_id, il.invoice_id, il.amount, il.tax_code, il.tax_rate, il.service_category, inv.tax_exempt,
         inv.tax_id, tm.expected_rate, tm.reverse_charge, tm.seller_country,
         CASE WHEN coalesce(inv.tax_exempt, false) THEN 0 ELSE tm.expected_rate END AS expected
  FROM canon.invoice_line il
  JOIN inv ON inv.invoice_id = il.invoice_id
  LEFT JOIN canon.tax_matrix tm
         ON tm.seller_country = inv.seller_key AND tm.buyer_country = inv.buyer_key
        AND tm.service_category = il.service_category AND tm.buyer_is_business
        AND inv.invoice_date >= tm.valid_from AND inv.invoice_date <= coalesce(tm.valid_to, DATE '9999-12-31')
  WHERE coalesce(il.line_type, '') <> 'tax'),
b AS (
  SELECT l.*,
         CASE WHEN l.seller_country IS NULL THEN 'no_matrix_row'
              WHEN abs(coalesce(l.tax_rate, 0) - l.expected) > 0.0001 THEN 'rate'
              WHEN l.reverse_charge AND l.tax_id IS NULL THEN 'reverse_charge_without_tax_id' END AS issue
  FROM l)
SELECT 'invoice_line' AS entity_type, b.invoice_line_id AS entity_id, i.correlation_id,
       CAST(CASE WHEN b.issue = 'rate' THEN round(abs(b.amount * (coalesce(b.tax_rate, 0) - b.expected)) * fx.rate, 2)
                 ELSE 0 END AS DECIMAL(18, 2)) AS impact_rc,
       i.client_id, i.sow_id, i.project_id, i.invoice_id, i.legal_entity_id, i.invoice_date AS event_date, b.issue,
       b.tax_code, b.tax_rate, b.expected AS expected_rate, b.service_category, i.currency,
       CASE WHEN b.issue = 'rate' THEN abs(b.amount * (coalesce(b.tax_rate, 0) - b.expected)) END AS amount,
       fx.rate AS fx_rate, i.invoice_date AS fx_date
FROM b
JOIN canon.invoice i ON i.invoice_id = b.invoice_id
LEFT JOIN chk.fx_daily fx ON fx.from_ccy = i.currency AND fx.d = i.invoice_date
WHERE b.issue IS NOT NULL
