-- Cross-source merges and correlation-ID resolution, run after every source mapping.
-- Plain UPDATE ... FROM / DELETE statements over canon.* only (portable subset, DESIGN.md).
-- Clients: CRM rows have client_id = crm_account_id, ERP rows (from the NetSuite mapping) client_id = erp_customer_id.

-- 1. Client merge: a CRM account without an ERP id takes it from the ERP customer whose externalid names it.
UPDATE canon.client AS a
SET erp_customer_id = e.erp_customer_id
FROM canon.client AS e
WHERE a.client_id = a.crm_account_id AND a.erp_customer_id IS NULL
  AND e.client_id = e.erp_customer_id AND e.crm_account_id = a.crm_account_id;

-- ERP-owned client fields come from the ERP customer, CRM-owned ones (name, country, region) stay.
UPDATE canon.client AS a
SET tax_jurisdiction = e.tax_jurisdiction, tax_id = e.tax_id, tax_exempt = e.tax_exempt,
    bill_to_country = e.bill_to_country, payment_terms_days = e.payment_terms_days, po_required = e.po_required
FROM canon.client AS e
WHERE a.client_id = a.crm_account_id
  AND e.client_id = e.erp_customer_id AND e.erp_customer_id = a.erp_customer_id;

-- merged ERP rows go, ERP-only customers (no CRM account) stay as clients keyed by their ERP id
DELETE FROM canon.client
WHERE client_id = erp_customer_id
  AND erp_customer_id IN (SELECT erp_customer_id FROM canon.client WHERE client_id = crm_account_id);

-- 2. ERP records name the customer, the canonical client id is the CRM account where one exists.
UPDATE canon.project AS t SET client_id = c.client_id
FROM canon.client AS c WHERE c.erp_customer_id = t.client_id AND c.client_id <> t.client_id;
UPDATE canon.invoice AS t SET client_id = c.client_id
FROM canon.client AS c WHERE c.erp_customer_id = t.client_id AND c.client_id <> t.client_id;
UPDATE canon.payment AS t SET client_id = c.client_id
FROM canon.client AS c WHERE c.erp_customer_id = t.client_id AND c.client_id <> t.client_id;

-- 3. Legal entities: CRM and CLM name the contracting entity, the id is the ERP subsidiary (unique names only).
CREATE TEMP TABLE _le_by_name AS
SELECT name, min(legal_entity_id) AS legal_entity_id FROM canon.legal_entity GROUP BY name HAVING count(*) = 1;
UPDATE canon.opportunity AS t SET legal_entity_id = l.legal_entity_id FROM _le_by_name AS l WHERE t.legal_entity_id = l.name;
UPDATE canon.contract AS t SET legal_entity_id = l.legal_entity_id FROM _le_by_name AS l WHERE t.legal_entity_id = l.name;
UPDATE canon.sow AS t SET legal_entity_id = l.legal_entity_id FROM _le_by_name AS l WHERE t.legal_entity_id = l.name;
DROP TABLE _le_by_name;

-- 4. Correlation IDs: the stamped one stays, a record without one takes it through its references, in
-- flow order (opportunity -> contract/SOW -> project -> billing, time, invoices -> cash). What stays NULL
-- is unresolved and visible (Q2C-102).
UPDATE canon.contract AS t SET correlation_id = r.correlation_id FROM canon.opportunity AS r
WHERE t.correlation_id IS NULL AND r.opportunity_id = t.opportunity_id AND r.correlation_id IS NOT NULL;
UPDATE canon.sow AS t SET correlation_id = r.correlation_id FROM canon.opportunity AS r
WHERE t.correlation_id IS NULL AND r.opportunity_id = t.opportunity_id AND r.correlation_id IS NOT NULL;
UPDATE canon.amendment AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;
UPDATE canon.rate_card AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;
UPDATE canon.milestone AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;
UPDATE canon.revenue_contract AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;
UPDATE canon.project AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;

UPDATE canon.milestone AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.task AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.assignment AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.billing_rule AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.billing_schedule AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.billing_schedule AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;
UPDATE canon.time_entry AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.expense AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.write_down AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.subcontract AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.subcontract AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;
UPDATE canon.vendor_bill AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.vendor_bill AS t SET correlation_id = r.correlation_id FROM canon.subcontract AS r
WHERE t.correlation_id IS NULL AND r.subcontract_id = t.subcontract_id AND r.correlation_id IS NOT NULL;
UPDATE canon.revenue_schedule AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.revenue_schedule AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;

UPDATE canon.invoice AS t SET correlation_id = r.correlation_id FROM canon.project AS r
WHERE t.correlation_id IS NULL AND r.project_id = t.project_id AND r.correlation_id IS NOT NULL;
UPDATE canon.invoice AS t SET correlation_id = r.correlation_id FROM canon.sow AS r
WHERE t.correlation_id IS NULL AND r.sow_id = t.sow_id AND r.correlation_id IS NOT NULL;
UPDATE canon.invoice_line AS t SET correlation_id = r.correlation_id FROM canon.invoice AS r
WHERE t.correlation_id IS NULL AND r.invoice_id = t.invoice_id AND r.correlation_id IS NOT NULL;
UPDATE canon.payment AS t SET correlation_id = r.correlation_id FROM canon.invoice AS r
WHERE t.correlation_id IS NULL AND r.invoice_id = t.invoice_id AND r.correlation_id IS NOT NULL;
UPDATE canon.collection_action AS t SET correlation_id = r.correlation_id FROM canon.invoice AS r
WHERE t.correlation_id IS NULL AND r.invoice_id = t.invoice_id AND r.correlation_id IS NOT NULL;
UPDATE canon.dispute AS t SET correlation_id = r.correlation_id FROM canon.invoice AS r
WHERE t.correlation_id IS NULL AND r.invoice_id = t.invoice_id AND r.correlation_id IS NOT NULL;

-- CRM invoice status: through its opportunity, else the ERP invoice it mirrors (by unambiguous number)
UPDATE canon.crm_invoice_status AS t SET correlation_id = r.correlation_id FROM canon.opportunity AS r
WHERE t.correlation_id IS NULL AND r.opportunity_id = t.opportunity_id AND r.correlation_id IS NOT NULL;
UPDATE canon.crm_invoice_status AS t SET correlation_id = r.correlation_id
FROM (SELECT erp_invoice_no, min(correlation_id) AS correlation_id FROM canon.invoice
      WHERE correlation_id IS NOT NULL GROUP BY erp_invoice_no HAVING count(DISTINCT correlation_id) = 1) AS r
WHERE t.correlation_id IS NULL AND r.erp_invoice_no = t.erp_invoice_no;
