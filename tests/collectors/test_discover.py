"""Discover's matching and drafting, offline: proposals by name and by elimination, value maps, the TOML."""

from __future__ import annotations

import tomllib

from collectors import discover as d


def _report(rows, wanted, kind="ironclad"):
    rep = d.Report("src", kind, "files")
    rep.profiles["t"] = d.profile_rows("t", "t", rows)
    d.settle(rep, {"t": wanted})
    return rep


def test_normalized_names_ignore_vendor_prefixes_suffixes_and_case():
    assert d.normalize_name("custentity_Sales_Region") == "salesregion"
    assert d.normalize_name("Invoice_No__c") == "invoiceno"
    assert d.normalize_name("blng__InvoiceStatus__c") == "invoicestatus"
    assert d.normalize_name("billingType") == d.normalize_name("billing_type")


def test_found_proposed_by_name_and_by_elimination_absent():
    rows = [
        {
            "Id": f"a{i}",
            "Invoice_No__c": f"INV{i}",
            "Engagement_Key__c": f"CL-{i}",
            "Due__c": "2026-01-0" + str(i),
        }
        for i in range(1, 4)
    ]
    wanted = [
        d.Wanted("t", "Id", "Id"),
        d.Wanted("t", "Invoice_Number__c", "Invoice_Number__c", ("inv_number_field",)),
        d.Wanted("t", "Correlation_Id__c", "Correlation_Id__c", ("correlation_field",)),
        d.Wanted("t", "Amount__c", "Amount__c", ("inv_amount_field",), "number"),
    ]
    rep = _report(rows, wanted, "salesforce")
    got = {f.wanted.column: (f.status, f.name) for f in rep.findings["t"]}
    assert got == {
        "Id": ("found", "Id"),
        "Invoice_Number__c": ("proposed", "Invoice_No__c"),
        "Correlation_Id__c": ("proposed", "Engagement_Key__c"),
        "Amount__c": ("absent", None),  # Due__c holds dates: no number column to propose
    }
    assert rep.settings[("inv_number_field",)][0] == "Invoice_No__c"
    assert "name ~" in rep.settings[("inv_number_field",)][1]
    assert "only unclaimed" in rep.settings[("correlation_field",)][1]


def test_elimination_refuses_when_two_wanted_compete_for_one_column():
    rows = [{"custbody_x": "A1", "custbody_y": None}]
    wanted = [
        d.Wanted("t", "custbody_sow_id", "custbody_sow_id", ("custom_fields", "custbody_sow_id")),
        d.Wanted("t", "custbody_correlation_id", "custbody_correlation_id", ("correlation_body_field",)),
    ]
    rep = _report(rows, wanted, "netsuite")
    assert {f.status for f in rep.findings["t"]} == {"absent"}
    assert "custbody_x" in rep.findings["t"][0].evidence


def test_a_name_the_module_already_knows_is_never_proposed_for_another_column():
    rows = [{"counterpartyName": "Acme"}]
    rep = d.Report("src", "ironclad", "files")
    rep.profiles["t"] = d.profile_rows("t", "t", rows)
    d.settle(
        rep,
        {"t": [d.Wanted("t", "correlationId", "correlationId", ("correlation_property",))]},
        {"counterpartyName"},
    )
    assert rep.findings["t"][0].status == "absent"


def test_value_map_matches_canonical_values_loosely_and_leaves_the_rest_todo():
    rows = [{"agreementStatus": v} for v in ("Executed", "Fully Signed", "in review", "Executed")]
    rep = _report(rows, [])
    d.draft_values(rep, {"sow.status": ("t", "agreementStatus", None)})
    (m,) = rep.value_maps
    assert m.pairs == {"Executed": "executed", "Fully Signed": "TODO", "in review": "in_review"}


def test_draft_is_toml_with_evidence_comments_and_only_non_default_keys():
    rows = [{"Id": "1", "Invoice_No__c": "INV1", "Status__c": "Fully Paid"}]
    wanted = [d.Wanted("t", "Invoice_Number__c", "Invoice_Number__c", ("inv_number_field",))]
    rep = _report(rows, wanted, "salesforce")
    d.draft_values(rep, {"crm_invoice_status.status": ("t", "Status__c", None)})
    text = d.draft_toml(
        rep,
        {"transport": "api", "kind": "src", "client_id": "x", "batch_size": 2000, "custom": {"a": "b"}},
        {"transport": "files", "batch_size": 2000},
    )
    doc = tomllib.loads(text)
    section = doc["sources"]["src"]
    assert section["inv_number_field"] == "Invoice_No__c"
    assert section["transport"] == "api" and "batch_size" not in section and "kind" not in section
    assert section["custom"] == {"a": "b"}
    assert section["values"] == {"crm_invoice_status.status": {"Fully Paid": "TODO"}}
    assert "# Invoice_No__c: proposed for inv_number_field" in text


def test_an_enumerated_column_is_recognized_by_its_values_when_its_name_says_nothing():
    """'contractStatus' and 'pricingModel' share no word with agreementStatus and billingType; their values
    (the canonical statuses and billing types) say which is which."""
    rows = [
        {"contractStatus": s, "pricingModel": b, "notes": n}
        for s, b, n in [("executed", "TM", "x"), ("Draft", "FF", "y"), ("executed", "TM_CAP", "z")]
    ]
    wanted = [
        d.Wanted(
            "t", "agreementStatus", "agreementStatus", ("properties", "status"), domain=("draft", "executed")
        ),
        d.Wanted(
            "t", "billingType", "billingType", ("properties", "billing_type"), domain=("TM", "TM_CAP", "FF")
        ),
    ]
    rep = _report(rows, wanted)
    assert rep.settings[("properties", "status")][0] == "contractStatus"
    assert rep.settings[("properties", "billing_type")][0] == "pricingModel"
    assert "100% are canonical" in rep.settings[("properties", "status")][1]
    assert d.domain_share(rep.profiles["t"].columns["notes"], ("draft", "executed")) == 0


def test_one_vendor_name_is_drafted_for_one_setting_but_a_mode_for_many():
    rep = d.Report("src", "ironclad", "api")
    rep.propose(("properties", "sow_id"), "sowRef", "by name")
    rep.propose(("properties", "contract_id"), "sowRef", "by elimination")
    rep.propose(("links", "amendment.sow_id"), "record_id", "ids", a_name=False)
    rep.propose(("links", "rate_card.sow_id"), "record_id", "ids", a_name=False)
    assert ("properties", "contract_id") not in rep.settings
    assert any("already drafted for properties.sow_id" in n for n in rep.notes)
    assert rep.settings[("links", "rate_card.sow_id")][0] == "record_id"
