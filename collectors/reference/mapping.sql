-- Reference -> canon: the firms reference tables, column for column, lineage defaults to this source.

INSERT INTO canon.fx_rate (rate_date, from_ccy, to_ccy, rate, source_system, source_id, snapshot_ts)
SELECT rate_date, from_ccy, to_ccy, rate, coalesce(source_system, '${source}'), source_id, _extracted_at
FROM raw.${source}__fx_rate;

INSERT INTO canon.calendar (d, is_business_day, legal_entity_id, bd_no)
SELECT d, is_business_day, legal_entity_id, CAST(bd_no AS INTEGER)
FROM raw.${source}__calendar;

INSERT INTO canon.tax_matrix (seller_country, buyer_country, service_category, buyer_is_business, expected_rate, reverse_charge, valid_from, valid_to, source_system, source_id, snapshot_ts)
SELECT seller_country, buyer_country, service_category, buyer_is_business, expected_rate, reverse_charge, valid_from, valid_to, coalesce(source_system, '${source}'), source_id, _extracted_at
FROM raw.${source}__tax_matrix;

INSERT INTO canon.rev_policy_matrix (billing_type, over_time_criteria, method, source_system, source_id, correlation_id, snapshot_ts)
SELECT billing_type, over_time_criteria, method, coalesce(source_system, '${source}'), source_id, correlation_id, _extracted_at
FROM raw.${source}__rev_policy_matrix;

INSERT INTO canon.expense_policy_rule (policy_id, category, allowed, cap, max_markup_pct, source_system, source_id, correlation_id, snapshot_ts)
SELECT policy_id, category, allowed, cap, max_markup_pct, coalesce(source_system, '${source}'), source_id, correlation_id, _extracted_at
FROM raw.${source}__expense_policy_rule;

INSERT INTO canon.approval_matrix (role, threshold, source_system, source_id, snapshot_ts)
SELECT role, threshold, coalesce(source_system, '${source}'), source_id, _extracted_at
FROM raw.${source}__approval_matrix;

INSERT INTO canon.intercompany_agreement (supplier_le, buyer_le, valid_from, valid_to, source_system, source_id, snapshot_ts)
SELECT supplier_le, buyer_le, valid_from, valid_to, coalesce(source_system, '${source}'), source_id, _extracted_at
FROM raw.${source}__intercompany_agreement;
