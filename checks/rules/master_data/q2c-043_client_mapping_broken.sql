/* ---
id: Q2C-043
title: CRM account to ERP customer mapping broken
severity: S3
owner: MDM
domain: master_data
systems: [CRM, ERP]
description: >
  A CRM account that maps to no or several ERP customers, an ERP customer mapped from several CRM
  accounts, or an invoiced client with no CRM account.
remediation: Fix the account-customer cross reference in MDM.
impact_kind: cash
stage: crm
impact: open AR of the affected clients, sum of round(open * fx(ccy, invoice_date), 2)
entity: crm_account, erp_customer or client
depends_on: [client, invoice, payment, fx_rate]
--- */
WITH ar AS (
  SELECT o.client_id, sum(CAST(round(greatest(o.open_amount, 0) * fx.rate, 2) AS DECIMAL(18, 2))) AS open_rc
  FROM chk.invoice_open o
  LEFT JOIN chk.fx_daily fx ON fx.from_ccy = o.currency AND fx.d = o.invoice_date
  GROUP BY o.client_id),
c AS (
  SELECT c.*, coalesce(ar.open_rc, 0) AS open_rc FROM canon.client c LEFT JOIN ar ON ar.client_id = c.client_id)
SELECT 'crm_account' AS entity_type, crm_account_id AS entity_id, min(correlation_id) AS correlation_id,
       CAST(sum(open_rc) AS DECIMAL(18, 2)) AS impact_rc, min(client_id) AS client_id,
       'crm_account_maps_to_' || CAST(count(DISTINCT erp_customer_id) AS VARCHAR) || '_erp_customers' AS issue,
       count(DISTINCT erp_customer_id) AS n_linked
FROM c WHERE crm_account_id IS NOT NULL
GROUP BY crm_account_id HAVING count(DISTINCT erp_customer_id) <> 1
UNION ALL
SELECT 'erp_customer' AS entity_type, erp_customer_id AS entity_id, min(correlation_id) AS correlation_id,
       CAST(sum(open_rc) AS DECIMAL(18, 2)) AS impact_rc, min(client_id) AS client_id,
       'erp_customer_maps_to_several_crm_accounts' AS issue, count(DISTINCT crm_account_id) AS n_linked
FROM c WHERE erp_customer_id IS NOT NULL
GROUP BY erp_customer_id HAVING count(DISTINCT crm_account_id) > 1
UNION ALL
SELECT 'client' AS entity_type, c.client_id AS entity_id, c.correlation_id, CAST(c.open_rc AS DECIMAL(18, 2)) AS impact_rc,
       c.client_id, 'invoiced_client_without_crm_account' AS issue, 0 AS n_linked
FROM c
WHERE c.crm_account_id IS NULL AND EXISTS (SELECT 1 FROM canon.invoice i WHERE i.client_id = c.client_id)
