/* ---
id: K05
title: AR visibility in CRM
description: >
  AR visibility in CRM: open ERP AR (USD) on invoices whose CRM record shows the same open amount (+-0.01),
  over all open ERP AR; and the count of open invoices not in CRM. The catalog's sync-age test (last_synced_at
  within sync_sla_hours of as_of) is left out: CRM rows are written on each ERP change, not re-stamped daily,
  so a current row can be old; a stale one shows as an open-amount mismatch.
--- */
WITH e AS (
  SELECT o.invoice_id, i.erp_invoice_no, o.legal_entity_id, o.open_amount,
         CAST(round(o.open_amount * fx.rate, 2) AS DECIMAL(18, 2)) AS open_rc
  FROM chk.invoice_open o
  JOIN canon.invoice i ON i.invoice_id = o.invoice_id
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = o.currency AND fx.d = o.invoice_date
  WHERE o.open_amount > 0.01),
v AS (
  SELECT e.*, c.erp_invoice_no AS crm_no,
         CASE WHEN c.erp_invoice_no IS NOT NULL AND abs((c.amount - coalesce(c.paid_amount, 0)) - e.open_amount) <= 0.01
              THEN 1 ELSE 0 END AS visible
  FROM e LEFT JOIN canon.crm_invoice_status c ON c.erp_invoice_no = e.erp_invoice_no)
SELECT 'K05' AS kpi_id, 'ar_visibility_coverage' AS name,
       CAST(sum(visible * open_rc) / nullif(sum(open_rc), 0) AS DOUBLE) AS value, 'ratio' AS unit,
       'total' AS slice_kind, 'all' AS slice_value FROM v
UNION ALL SELECT 'K05', 'open_invoices_missing_in_crm', CAST(sum(CASE WHEN crm_no IS NULL THEN 1 ELSE 0 END) AS DOUBLE),
       'count', 'total', 'all' FROM v
