"""Messages name the exact setting: config_key, missing key columns, and one field configured into two roles."""

from __future__ import annotations

import pytest

from collectors.config_keys import config_key, missing_key_column
from collectors.salesforce.streams import streams as salesforce_streams


def test_config_key_names_the_setting_in_force():
    assert config_key("netsuite", "custentity_sow_id") == "sources.netsuite.custom_fields.custentity_sow_id"
    renamed = {"custom_fields": {"custentity_sow_id": "custentity_engagement"}}
    assert (
        config_key("netsuite", "custentity_engagement", renamed)
        == "sources.netsuite.custom_fields.custentity_sow_id"
    )
    assert config_key("netsuite", "custentity_sow_id", renamed) is None  # no longer a name in force
    assert config_key("netsuite", "customrecord_cl_dispute") == "sources.netsuite.custom_records.dispute"
    assert config_key("netsuite", "custbody_correlation_id") == "sources.netsuite.correlation_body_field"
    assert config_key("salesforce", "Invoice_Number__c") == "sources.salesforce.inv_number_field"
    assert config_key("ironclad", "correlationId") == "sources.ironclad.correlation_property"
    assert config_key("ironclad", "billRate") == "sources.ironclad.properties.bill_rate"
    assert config_key("netsuite", "id") is None


def test_missing_key_column_says_what_to_set_and_what_the_source_has():
    err = missing_key_column(
        "salesforce", "salesforce", "invoice_status", "Invoice_Number__c", ["Invoice_No__c", "Name"]
    )
    assert str(err).startswith(
        "source salesforce, stream invoice_status: required column 'Invoice_Number__c'"
    )
    assert "set sources.salesforce.inv_number_field" in str(err) and "Invoice_No__c" in str(err)


def test_a_setting_naming_a_standard_field_is_declared_once():
    # inv_number_field = "Name" crashed the run with a duplicate-column CatalogException naming no setting
    inv = salesforce_streams({"inv_number_field": "Name"})[2]
    assert inv.column_names().count("Name") == 1


def test_two_settings_naming_one_field_as_different_types_fail_naming_both():
    with pytest.raises(
        ValueError, match=r"sources\.salesforce\.inv_amount_field and the stream's own column 'Name'"
    ):
        salesforce_streams({"inv_amount_field": "Name"})
    with pytest.raises(ValueError, match=r"inv_status_field and sources\.salesforce\.inv_amount_field"):
        salesforce_streams({"inv_amount_field": "Status__c"})
