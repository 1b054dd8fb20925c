-- Ironclad -> canon: CLM owns executed terms (MSA = contract, SOW, amendments, rate cards, milestones).
-- Every property is {"type": ..., "value": ...}, keys are tenant configuration (p_<logical> placeholders).
-- Money properties: {"type": "monetaryAmount", "value": {"amount": .., "currency": ..}} is the assumed shape
-- (unconfirmed, vendor-apis.md 4a), a plain number value is read too (the second coalesce argument).
-- Keys and links are config (collectors/ironclad/keys.py): ${key_<stream>} is a record's business key (its
-- id, or a property), ${link_<stream>_<property>} a reference resolved to the parent's business key.
-- The guards stop the mapping with the setting to fix when a key property is missing or no reference resolves.
${key_guards}

INSERT INTO canon.contract (contract_id, client_id, legal_entity_id, opportunity_id, contract_type, status, signed_date, effective_date, end_date, currency, payment_terms_days, po_required, tax_terms, expense_policy_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${key_msa},
       json_extract_string(properties, '$."${p_client_id}".value'),
       json_extract_string(properties, '$."${p_legal_entity}".value'),
       json_extract_string(properties, '$."${p_opportunity_id}".value'),
       json_extract_string(properties, '$."${p_contract_type}".value'),
       json_extract_string(properties, '$."${p_status}".value'),
       CAST(json_extract_string(properties, '$."${p_signed_date}".value') AS DATE),
       CAST(json_extract_string(properties, '$."${p_effective_date}".value') AS DATE),
       CAST(json_extract_string(properties, '$."${p_end_date}".value') AS DATE),
       json_extract_string(properties, '$."${p_currency}".value'),
       CAST(json_extract_string(properties, '$."${p_payment_terms_days}".value') AS INTEGER),
       CAST(json_extract_string(properties, '$."${p_po_required}".value') AS BOOLEAN),
       json_extract_string(properties, '$."${p_tax_terms}".value'),
       json_extract_string(properties, '$."${p_expense_policy_id}".value'),
       '${source}',
       id,
       _extracted_at,
       json_extract_string(properties, '$."${p_correlation_id}".value')
FROM raw.${source}__msa r;

INSERT INTO canon.sow (sow_id, contract_id, opportunity_id, client_id, legal_entity_id, status, signed_date, start_date, end_date, currency, value, cap_amount, billing_type, payment_terms_days, po_number, expense_rebillable, expense_markup_pct, expense_cap, expense_policy_id, work_at_risk_approved, multi_currency_billing, over_time_criteria, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${key_sow},
       ${link_sow_contract_id},
       json_extract_string(properties, '$."${p_opportunity_id}".value'),
       json_extract_string(properties, '$."${p_client_id}".value'),
       json_extract_string(properties, '$."${p_legal_entity}".value'),
       json_extract_string(properties, '$."${p_status}".value'),
       CAST(json_extract_string(properties, '$."${p_signed_date}".value') AS DATE),
       CAST(json_extract_string(properties, '$."${p_start_date}".value') AS DATE),
       CAST(json_extract_string(properties, '$."${p_end_date}".value') AS DATE),
       json_extract_string(properties, '$."${p_currency}".value'),
       TRY_CAST(coalesce(json_extract_string(properties, '$."${p_value}".value.amount'), json_extract_string(properties, '$."${p_value}".value')) AS DECIMAL(18,2)),
       TRY_CAST(coalesce(json_extract_string(properties, '$."${p_cap_amount}".value.amount'), json_extract_string(properties, '$."${p_cap_amount}".value')) AS DECIMAL(18,2)),
       json_extract_string(properties, '$."${p_billing_type}".value'),
       CAST(json_extract_string(properties, '$."${p_payment_terms_days}".value') AS INTEGER),
       json_extract_string(properties, '$."${p_po_number}".value'),
       CAST(json_extract_string(properties, '$."${p_expense_rebillable}".value') AS BOOLEAN),
       CAST(json_extract_string(properties, '$."${p_expense_markup_pct}".value') AS DOUBLE),
       TRY_CAST(coalesce(json_extract_string(properties, '$."${p_expense_cap}".value.amount'), json_extract_string(properties, '$."${p_expense_cap}".value')) AS DECIMAL(18,2)),
       json_extract_string(properties, '$."${p_expense_policy_id}".value'),
       CAST(json_extract_string(properties, '$."${p_work_at_risk_approved}".value') AS BOOLEAN),
       CAST(json_extract_string(properties, '$."${p_multi_currency_billing}".value') AS BOOLEAN),
       json_extract_string(properties, '$."${p_over_time_criteria}".value'),
       '${source}',
       id,
       _extracted_at,
       json_extract_string(properties, '$."${p_correlation_id}".value')
FROM raw.${source}__sow r;

INSERT INTO canon.amendment (amendment_id, sow_id, amendment_no, status, signed_date, effective_date, value_delta, new_end_date, new_cap_amount, new_rate_card_id, change_type, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${key_amendment},
       ${link_amendment_sow_id},
       CAST(json_extract_string(properties, '$."${p_amendment_no}".value') AS INTEGER),
       json_extract_string(properties, '$."${p_status}".value'),
       CAST(json_extract_string(properties, '$."${p_signed_date}".value') AS DATE),
       CAST(json_extract_string(properties, '$."${p_effective_date}".value') AS DATE),
       TRY_CAST(coalesce(json_extract_string(properties, '$."${p_value_delta}".value.amount'), json_extract_string(properties, '$."${p_value_delta}".value')) AS DECIMAL(18,2)),
       CAST(json_extract_string(properties, '$."${p_new_end_date}".value') AS DATE),
       TRY_CAST(coalesce(json_extract_string(properties, '$."${p_new_cap_amount}".value.amount'), json_extract_string(properties, '$."${p_new_cap_amount}".value')) AS DECIMAL(18,2)),
       json_extract_string(properties, '$."${p_new_rate_card_id}".value'),
       json_extract_string(properties, '$."${p_change_type}".value'),
       '${source}',
       id,
       _extracted_at,
       json_extract_string(properties, '$."${p_correlation_id}".value')
FROM raw.${source}__amendment r;

INSERT INTO canon.rate_card (rate_card_id, scope, sow_id, contract_id, role, currency, bill_rate, discount_pct, cost_rate, valid_from, valid_to, source_system, source_id, snapshot_ts, correlation_id)
SELECT coalesce(json_extract_string(properties, '$."${p_rate_card_id}".value'), id),
       json_extract_string(properties, '$."${p_scope}".value'),
       ${link_rate_card_sow_id},
       ${link_rate_card_contract_id},
       json_extract_string(properties, '$."${p_role}".value'),
       json_extract_string(properties, '$."${p_currency}".value'),
       TRY_CAST(coalesce(json_extract_string(properties, '$."${p_bill_rate}".value.amount'), json_extract_string(properties, '$."${p_bill_rate}".value')) AS DECIMAL(18,2)),
       CAST(json_extract_string(properties, '$."${p_discount_pct}".value') AS DOUBLE),
       TRY_CAST(coalesce(json_extract_string(properties, '$."${p_cost_rate}".value.amount'), json_extract_string(properties, '$."${p_cost_rate}".value')) AS DECIMAL(18,2)),
       CAST(json_extract_string(properties, '$."${p_valid_from}".value') AS DATE),
       CAST(json_extract_string(properties, '$."${p_valid_to}".value') AS DATE),
       '${source}',
       id,
       _extracted_at,
       json_extract_string(properties, '$."${p_correlation_id}".value')
FROM raw.${source}__rate_card r;

INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date, accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${key_milestone},
       ${link_milestone_sow_id},
       json_extract_string(properties, '$."${p_project_id}".value'),
       name,
       TRY_CAST(coalesce(json_extract_string(properties, '$."${p_amount}".value.amount'), json_extract_string(properties, '$."${p_amount}".value')) AS DECIMAL(18,2)),
       CAST(json_extract_string(properties, '$."${p_due_date}".value') AS DATE),
       json_extract_string(properties, '$."${p_status}".value'),
       CAST(json_extract_string(properties, '$."${p_completed_date}".value') AS DATE),
       CAST(json_extract_string(properties, '$."${p_accepted_date}".value') AS DATE),
       json_extract_string(properties, '$."${p_billing_trigger}".value'),
       '${source}',
       id,
       _extracted_at,
       json_extract_string(properties, '$."${p_correlation_id}".value')
FROM raw.${source}__milestone r;
