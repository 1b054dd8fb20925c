"""[sources.sap_s4]: tenant names over defaults, refused keys named with where they are, credentials required."""

from __future__ import annotations

import pytest

from collectors.auth import AuthError
from collectors.sap_s4 import check_settings, mapping_params, streams
from collectors.sap_s4.api import api_collector, make_auth


def test_tenant_field_names_and_entity_sets_replace_the_defaults():
    cfg = {
        "fields": {"YY1_SOWID": "YY1_StatementOfWork"},
        "correlation_field": "YY1_FlowID",
        "entity_sets": {"dispute": "YY1_DISPUTES_CDS/YY1_Disputes"},
    }
    by_name = {s.name: s for s in streams(cfg)}
    assert "YY1_StatementOfWork" in by_name["project"].column_names()
    assert "YY1_FlowID" in by_name["billing_document"].column_names()
    assert by_name["dispute"].file_pattern == "YY1_DISPUTES_CDS/YY1_Disputes.jsonl"
    params = mapping_params(cfg)
    assert params["YY1_SOWID"] == "YY1_StatementOfWork" and params["YY1_CorrelationID"] == "YY1_FlowID"
    assert params["TotalGrossAmount"] == "TotalGrossAmount"


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"fields": {"YY1_Nope": "x"}}, "unknown key 'sources.sap_s4.fields.YY1_Nope'"),
        ({"entity_sets": {"invoices": "S/A"}}, "unknown key 'sources.sap_s4.entity_sets.invoices'"),
        ({"entity_sets": {"dispute": "/"}}, "key 'sources.sap_s4.entity_sets.dispute'"),
    ],
)
def test_bad_settings_name_the_key(cfg, message):
    with pytest.raises(ValueError, match=message):
        check_settings(cfg, "sources.sap_s4")


def test_missing_credentials_say_where_to_put_them_without_a_value():
    with pytest.raises(AuthError, match=r"CLOSEDLOOP_SAP_S4_PASSWORD"):
        make_auth({"auth": "basic", "user": "COMM_USER"}, {})
    with pytest.raises(AuthError, match=r"\[sources.sap_s4\] token_url"):
        make_auth({"auth": "client_credentials", "client_id": "c"}, {"client_secret": "s3cr3t"})


def test_repr_of_the_collector_auth_hides_the_secret():
    api = api_collector({"auth": "basic", "user": "COMM_USER"}, {"password": "hunter2-sap"})
    assert "hunter2-sap" not in repr(api.http._client.auth) and "***" in repr(api.http._client.auth)
