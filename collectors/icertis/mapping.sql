-- Icertis -> canon: CLM owns executed terms. Every column is a tenant attribute named in config (${f_<logical>},
-- quoted); agreements reference their parent by its agreement code, the business key the CRM and ERP know.

INSERT INTO canon.contract (contract_id, client_id, legal_entity_id, opportunity_id, contract_type, status, signed_date, effective_date, end_date, currency, payment_terms_days, po_required, tax_terms, expense_policy_id, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${f_agreement_code}, ${f_client_id}, ${f_legal_entity}, ${f_opportunity_id}, ${f_contract_type}, ${f_status},
       ${f_signed_date}, ${f_effective_date}, ${f_end_date}, ${f_currency}, CAST(${f_payment_terms_days} AS INTEGER),
       ${f_po_required}, ${f_tax_terms}, ${f_expense_policy_id},
       '${source}', ${f_id}, _extracted_at, ${f_correlation_id}
FROM raw.${source}__msa;

INSERT INTO canon.sow (sow_id, contract_id, opportunity_id, client_id, legal_entity_id, status, signed_date, start_date, end_date, currency, value, cap_amount, billing_type, payment_terms_days, po_number, expense_rebillable, expense_markup_pct, expense_cap, expense_policy_id, work_at_risk_approved, multi_currency_billing, over_time_criteria, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${f_agreement_code}, ${f_parent_code}, ${f_opportunity_id}, ${f_client_id}, ${f_legal_entity}, ${f_status},
       ${f_signed_date}, ${f_start_date}, ${f_end_date}, ${f_currency}, ${f_value}, ${f_cap_amount}, ${f_billing_type},
       CAST(${f_payment_terms_days} AS INTEGER), ${f_po_number}, ${f_expense_rebillable}, ${f_expense_markup_pct},
       ${f_expense_cap}, ${f_expense_policy_id}, ${f_work_at_risk_approved}, ${f_multi_currency_billing},
       ${f_over_time_criteria},
       '${source}', ${f_id}, _extracted_at, ${f_correlation_id}
FROM raw.${source}__sow;

INSERT INTO canon.amendment (amendment_id, sow_id, amendment_no, status, signed_date, effective_date, value_delta, new_end_date, new_cap_amount, new_rate_card_id, change_type, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${f_agreement_code}, ${f_parent_code}, CAST(${f_amendment_no} AS INTEGER), ${f_status}, ${f_signed_date},
       ${f_effective_date}, ${f_value_delta}, ${f_new_end_date}, ${f_new_cap_amount}, ${f_new_rate_card_id},
       ${f_change_type},
       '${source}', ${f_id}, _extracted_at, ${f_correlation_id}
FROM raw.${source}__amendment;

INSERT INTO canon.rate_card (rate_card_id, scope, sow_id, contract_id, role, currency, bill_rate, discount_pct, cost_rate, valid_from, valid_to, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${f_rate_card_id}, ${f_scope}, ${f_sow_id}, ${f_contract_id}, ${f_role}, ${f_currency}, ${f_bill_rate},
       ${f_discount_pct}, ${f_cost_rate}, ${f_valid_from}, ${f_valid_to},
       '${source}', ${f_id}, _extracted_at, ${f_correlation_id}
FROM raw.${source}__rate_card;

INSERT INTO canon.milestone (milestone_id, sow_id, project_id, name, amount, due_date, status, completed_date, accepted_date, billing_trigger, source_system, source_id, snapshot_ts, correlation_id)
SELECT ${f_milestone_id}, ${f_sow_id}, ${f_project_id}, ${f_name}, ${f_amount}, ${f_due_date}, ${f_status},
       ${f_completed_date}, ${f_accepted_date}, ${f_billing_trigger},
       '${source}', ${f_id}, _extracted_at, ${f_correlation_id}
FROM raw.${source}__milestone;
