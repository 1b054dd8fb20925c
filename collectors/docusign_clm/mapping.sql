-- DocuSign Navigator -> canon: CLM owns executed terms. One raw table holds every agreement document; its `type`
-- (names from config, ${t_<entity>}) says which canonical entity a document is. Standard provisions (dates,
-- total value, currency, payment terms) are Navigator's own; business numbers, the CRM's ids, rate lines and
-- milestones are the account's custom provisions (${c_<logical>} on the document r, ${pc_<logical>} on its parent
-- p: keys from config). A child names its parent by `related_agreement_documents.parent_agreement_document_id`
-- (a Navigator id), resolved here to the parent's business number, the key the CRM and ERP know.

INSERT INTO canon.contract (contract_id, client_id, legal_entity_id, opportunity_id, contract_type, status, signed_date, effective_date, end_date, currency, payment_terms_days, po_required, tax_terms, expense_policy_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT coalesce(${c_contract_id}, r.id),
       ${c_client_id},
       ${c_legal_entity},
       ${c_opportunity_id},
       ${c_contract_type},
       coalesce(${c_status}, r.status),
       CAST(json_extract_string(r.provisions, '$.execution_date') AS DATE),
       CAST(json_extract_string(r.provisions, '$.effective_date') AS DATE),
       CAST(json_extract_string(r.provisions, '$.expiration_date') AS DATE),
       json_extract_string(r.provisions, '$.total_agreement_value_currency_code'),
       coalesce(TRY_CAST(${c_payment_terms_days} AS INTEGER), ${payment_terms_enum}),
       TRY_CAST(${c_po_required} AS BOOLEAN),
       ${c_tax_terms},
       ${c_expense_policy_id},
       '${source}',
       r.id,
       r._extracted_at,
       ${c_correlation_id}
FROM raw.${source}__agreements r
WHERE r.type = '${t_msa}';

INSERT INTO canon.sow (sow_id, contract_id, opportunity_id, client_id, legal_entity_id, status, signed_date, start_date, end_date, currency, value, cap_amount, billing_type, payment_terms_days, po_number, expense_rebillable, expense_markup_pct, expense_cap, expense_policy_id, work_at_risk_approved, multi_currency_billing, over_time_criteria, source_system, source_id, snapshot_ts, correlation_id)
SELECT coalesce(${c_sow_id}, r.id),
       ${pc_contract_id},
       ${c_opportunity_id},
       ${c_client_id},
       ${c_legal_entity},
       coalesce(${c_status}, r.status),
       CAST(json_extract_string(r.provisions, '$.execution_date') AS DATE),
       CAST(json_extract_string(r.provisions, '$.effective_date') AS DATE),
       CAST(json_extract_string(r.provisions, '$.expiration_date') AS DATE),
       json_extract_string(r.provisions, '$.total_agreement_value_currency_code'),
       TRY_CAST(json_extract_string(r.provisions, '$.total_agreement_value') AS DECIMAL(18,2)),
       TRY_CAST(${c_cap_amount} AS DECIMAL(18,2)),
       ${c_billing_type},
       coalesce(TRY_CAST(${c_payment_terms_days} AS INTEGER), ${payment_terms_enum}),
       ${c_po_number},
       TRY_CAST(${c_expense_rebillable} AS BOOLEAN),
       TRY_CAST(${c_expense_markup_pct} AS DOUBLE),
       TRY_CAST(${c_expense_cap} AS DECIMAL(18,2)),
       ${c_expense_policy_id},
       TRY_CAST(${c_work_at_risk_approved} AS BOOLEAN),
       TRY_CAST(${c_multi_currency_billing} AS BOOLEAN),
       ${c_over_time_criteria},
       '${source}',
       r.id,
       r._extracted_at,
       ${c_correlation_id}
FROM raw.${source}__agreements r
LEFT JOIN raw.${source}__agreements p ON p.id = json_extract_string(r.related_agreement_documents, '$.parent_agreement_document_id')
WHERE r.type = '${t_sow}';

INSERT INTO canon.amendment (amendment_id, sow_id, amendment_no, status, signed_date, effective_date, value_delta, new_end_date, new_cap_amount, new_rate_card_id, change_type, source_system, source_id, snapshot_ts, correlation_id)
SELECT coalesce(${c_amendment_id}, r.id),
       ${pc_sow_id},
       TRY_CAST(${c_amendment_no} AS INTEGER),
       coalesce(${c_status}, r.status),
       CAST(json_extract_string(r.provisions, '$.execution_date') AS DATE),
       CAST(json_extract_string(r.provisions, '$.effective_date') AS DATE),
       TRY_CAST(${c_value_delta} AS DECIMAL(18,2)),
       TRY_CAST(${c_new_end_date} AS DATE),
       TRY_CAST(${c_new_cap_amount} AS DECIMAL(18,2)),
       ${c_new_rate_card_id},
       ${c_change_type},
       '${source}',
       r.id,
       r._extracted_at,
       ${c_correlation_id}
FROM raw.${source}__agreements r
LEFT JOIN raw.${source}__agreements p ON p.id = json_extract_string(r.related_agreement_documents, '$.parent_agreement_document_id')
WHERE r.type = '${t_amendment}';

-- A rate schedule document holds its lines in a custom provision array (one canonical row per line).
INSERT INTO canon.rate_card (rate_card_id, scope, sow_id, contract_id, role, currency, bill_rate, discount_pct, cost_rate, valid_from, valid_to, source_system, source_id, snapshot_ts, correlation_id)
SELECT coalesce(${c_rate_card_id}, r.id),
       ${c_scope},
       CASE WHEN p.type = '${t_sow}' THEN ${pc_sow_id} END,
       ${c_contract_id},
       json_extract_string(l.line, '$.role'),
       json_extract_string(r.provisions, '$.total_agreement_value_currency_code'),
       TRY_CAST(json_extract_string(l.line, '$.bill_rate') AS DECIMAL(18,2)),
       TRY_CAST(json_extract_string(l.line, '$.discount_pct') AS DOUBLE),
       TRY_CAST(json_extract_string(l.line, '$.cost_rate') AS DECIMAL(18,2)),
       TRY_CAST(json_extract_string(l.line, '$.valid_from') AS DATE),
       TRY_CAST(json_extract_string(l.line, '$.valid_to') AS DATE),
       '${source}',
       coalesce(json_extract_string(l.line, '$.line_id'), r.id),
       r._extracted_at,
       ${c_correlation_id}
FROM raw.${source}__agreements r
LEFT JOIN raw.${source}__agreements p ON p.id = json_extract_string(r.related_agreement_documents, '$.parent_agreement_document_id'),
     unnest(CAST(json_extract(r.custom_provisions, '$."${k_rate_lines}"') AS JSON[])) AS l(line)
WHERE r.type = '${t_rate_card}';

-- Milestones the CLM owns are an array on their SOW document.
INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date, accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT json_extract_string(m.item, '$.milestone_id'),
       coalesce(${c_sow_id}, r.id),
       json_extract_string(m.item, '$.project_id'),
       json_extract_string(m.item, '$.name'),
       TRY_CAST(json_extract_string(m.item, '$.amount') AS DECIMAL(18,2)),
       TRY_CAST(json_extract_string(m.item, '$.due_date') AS DATE),
       json_extract_string(m.item, '$.status'),
       TRY_CAST(json_extract_string(m.item, '$.completed_date') AS DATE),
       TRY_CAST(json_extract_string(m.item, '$.accepted_date') AS DATE),
       json_extract_string(m.item, '$.billing_trigger'),
       '${source}',
       json_extract_string(m.item, '$.milestone_id'),
       r._extracted_at,
       coalesce(json_extract_string(m.item, '$.correlation_id'), ${c_correlation_id})
FROM raw.${source}__agreements r,
     unnest(CAST(json_extract(r.custom_provisions, '$."${k_milestones}"') AS JSON[])) AS m(item)
WHERE r.type = '${t_sow}';
