-- Conga CLM (Apttus agreements in the Salesforce org) -> canon: the same executed terms collectors/ironclad
-- fills (MSA = contract, SOW, amendments, rate cards, milestones), from two objects. Agreements are told apart
-- by the category field (${cat_<stream>} values from [sources.conga] categories); an amendment is an agreement
-- whose parent is the SOW it amends; line items are rate-card lines or milestones by the line type field.
-- Business keys: the agreement number field (the id NetSuite and Salesforce hold), never the Salesforce record
-- Id; lookups hold record Ids, resolved here to the parent's number. Field names are ${...} placeholders.

CREATE OR REPLACE TEMP VIEW ${source}__agr AS
SELECT a.*, coalesce(a."${number_field}", a."Id") AS _key
FROM raw.${source}__agreement a
WHERE NOT coalesce(a."IsDeleted", false);

INSERT INTO canon.contract (contract_id, client_id, legal_entity_id, opportunity_id, contract_type, status, signed_date, effective_date, end_date, currency, payment_terms_days, po_required, tax_terms, expense_policy_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT a._key, a."${account_field}", a."${legal_entity_field}", a."${opportunity_field}", a."${subtype_field}",
       a."${status_field}", a."${signed_date_field}", a."${start_date_field}", a."${end_date_field}",
       a."CurrencyIsoCode", CAST(a."${payment_terms_field}" AS INTEGER), a."${po_required_field}",
       a."${tax_terms_field}", a."${expense_policy_field}",
       '${source}', a."Id", a._extracted_at, a."${correlation_field}"
FROM ${source}__agr a
WHERE a."${category_field}" = '${cat_msa}';

INSERT INTO canon.sow (sow_id, contract_id, opportunity_id, client_id, legal_entity_id, status, signed_date, start_date, end_date, currency, value, cap_amount, billing_type, payment_terms_days, po_number, expense_rebillable, expense_markup_pct, expense_cap, expense_policy_id, work_at_risk_approved, multi_currency_billing, over_time_criteria, source_system, source_id, snapshot_ts, correlation_id)
SELECT a._key, p._key, a."${opportunity_field}", a."${account_field}", a."${legal_entity_field}",
       a."${status_field}", a."${signed_date_field}", a."${start_date_field}", a."${end_date_field}",
       a."CurrencyIsoCode", a."${value_field}", a."${cap_field}", a."${billing_type_field}",
       CAST(a."${payment_terms_field}" AS INTEGER), a."${po_number_field}", a."${expense_rebillable_field}",
       a."${expense_markup_field}", a."${expense_cap_field}", a."${expense_policy_field}",
       a."${work_at_risk_field}", a."${multi_currency_field}", a."${over_time_field}",
       '${source}', a."Id", a._extracted_at, a."${correlation_field}"
FROM ${source}__agr a
LEFT JOIN ${source}__agr p ON p."Id" = a."${parent_field}"
WHERE a."${category_field}" = '${cat_sow}';

INSERT INTO canon.amendment (amendment_id, sow_id, amendment_no, status, signed_date, effective_date, value_delta, new_end_date, new_cap_amount, new_rate_card_id, change_type, source_system, source_id, snapshot_ts, correlation_id)
SELECT a._key, p._key, CAST(a."${version_field}" AS INTEGER), a."${status_field}", a."${signed_date_field}",
       a."${start_date_field}", a."${value_change_field}", a."${end_date_field}", a."${cap_field}",
       a."${new_rate_card_field}", a."${change_type_field}",
       '${source}', a."Id", a._extracted_at, a."${correlation_field}"
FROM ${source}__agr a
LEFT JOIN ${source}__agr p ON p."Id" = a."${parent_field}"
WHERE a."${category_field}" = '${cat_amendment}';

-- a rate line belongs to a SOW, an MSA or a standard rate-card agreement; the MSA it is priced under is its own
-- lookup (a SOW's line may name it), else the agreement it sits on when that is an MSA
INSERT INTO canon.rate_card (rate_card_id, scope, sow_id, contract_id, role, currency, bill_rate, discount_pct, cost_rate, valid_from, valid_to, source_system, source_id, snapshot_ts, correlation_id)
SELECT coalesce(l."${line_rate_card_field}", p._key), l."${line_scope_field}",
       CASE WHEN p."${category_field}" = '${cat_sow}' THEN p._key END,
       coalesce(m._key, CASE WHEN p."${category_field}" = '${cat_msa}' THEN p._key END),
       l."${line_description_field}", l."CurrencyIsoCode", l."${line_list_price_field}",
       l."${line_discount_field}", l."${line_cost_rate_field}", l."${line_valid_from_field}",
       l."${line_valid_to_field}",
       '${source}', l."Id", l._extracted_at, l."${line_correlation_field}"
FROM raw.${source}__line_item l
LEFT JOIN ${source}__agr p ON p."Id" = l."${line_agreement_field}"
LEFT JOIN ${source}__agr m ON m."Id" = l."${line_contract_field}"
WHERE l."${line_type_field}" = '${line_rate_card}' AND NOT coalesce(l."IsDeleted", false);

INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date, accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT l."Name", p._key, l."${line_project_field}", l."${line_description_field}", l."${line_net_price_field}",
       l."${line_due_date_field}", l."${line_status_field}", l."${line_completed_field}",
       l."${line_accepted_field}", l."${line_trigger_field}",
       '${source}', l."Id", l._extracted_at, l."${line_correlation_field}"
FROM raw.${source}__line_item l
LEFT JOIN ${source}__agr p ON p."Id" = l."${line_agreement_field}"
WHERE l."${line_type_field}" = '${line_milestone}' AND NOT coalesce(l."IsDeleted", false);
