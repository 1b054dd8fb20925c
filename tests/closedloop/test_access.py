"""closedloop/access.py: the value classifier, Scope.sql and the Policy, without the app."""

from __future__ import annotations

import duckdb
import pytest

from closedloop import access
from closedloop.access import MASKED, Principal, Scope


@pytest.mark.parametrize(
    "name, kind",
    [
        ("leakage_rc", "amounts"), ("impact_rc", "amounts"), ("amount_gross", "amounts"), ("paid_amount", "amounts"),
        ("value_delta", "amounts"), ("bill_cum", "amounts"), ("cum_rev", "amounts"), ("invoiced", "amounts"),
        ("scheduled", "amounts"), ("spent", "amounts"), ("diff", "amounts"), ("contract_asset", "amounts"),
        ("under_billed_ccy", "amounts"), ("transaction_price", "amounts"), ("expense_cap", "amounts"),
        ("bill_rate", "rates"), ("billed_rate", "rates"), ("unit_price", "rates"), ("cost_rate", "rates"),
        ("expense_markup_pct", "margins"), ("gross_margin", "margins"),
        ("contact_email", "contacts"), ("phone", "contacts"),
        ("assignee", "people"), ("approved_by", "people"), ("actor", "people"),
        # harmless names that look like money or people
        ("budget_hours", None), ("days_past_due", None), ("tax_code", None), ("contract_ccy", None),
        ("tax_rate", None), ("fx_rate", None), ("opp_fx_rate", None), ("owner_team", None), ("row_count", None),
        ("compliance_findings", None), ("client_id", None), ("due_date", None), ("currency", None),
        ("status", None), ("hours", None),
    ],
)  # fmt: skip
def test_value_kind(name, kind):
    assert access.value_kind(name) == kind


def test_every_rule_evidence_column_that_is_money_is_recognised():
    """The evidence columns checks/app/evidence.py formats as money or rates are all masked kinds."""
    from app.evidence import MONEY_FIELDS, RATE_FIELDS

    assert {f for f in MONEY_FIELDS if access.value_kind(f) != "amounts"} == set()
    assert {f for f in RATE_FIELDS if access.value_kind(f) != "rates"} == set()


def test_mask_record_and_json_mask_nested_keys():
    who = access.Policy().as_role("support")
    rec = access.mask_record({"amount": 5, "entity_id": "X", "inner": {"bill_rate": 100, "hours": 3}}, who)
    assert rec == {"amount": MASKED, "entity_id": "X", "inner": {"bill_rate": MASKED, "hours": 3}}
    assert (
        access.mask_json('{"billed": 10, "po_number": "P1"}', who) == '{"billed": "•••", "po_number": "P1"}'
    )
    assert access.mask_json("not json", who) == "not json"
    finance = access.Policy().as_role("finance")
    assert access.mask_record({"amount": 5}, finance) == {"amount": 5}


def test_scope_sql_filters_rows_and_fails_closed():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA canon; CREATE TABLE canon.client(client_id VARCHAR, region VARCHAR)")
    con.execute("INSERT INTO canon.client VALUES ('C1', 'EMEA'), ('C2', 'AMER')")
    con.execute("CREATE TABLE t(client_id VARCHAR, legal_entity_id VARCHAR)")
    con.execute("INSERT INTO t VALUES ('C1', 'LE-UK'), ('C2', 'LE-US'), ('C1', 'LE-US')")

    def rows(scope: Scope, client="client_id", entity="legal_entity_id"):
        pred, params = scope.sql(client, entity)
        return sorted(con.execute(f"SELECT * FROM t WHERE {pred}", params).fetchall())

    assert len(rows(Scope())) == 3 and Scope().sql() == ("TRUE", [])
    assert rows(Scope(legal_entities=("LE-US",))) == [("C1", "LE-US"), ("C2", "LE-US")]
    assert rows(Scope(clients=("C1",), legal_entities=("LE-US",))) == [("C1", "LE-US")]
    assert rows(Scope(regions=("AMER",))) == [("C2", "LE-US")]
    assert rows(Scope(legal_entities=("LE-US",)), entity=None) == []  # a table without the column: nothing
    assert rows(Scope(clients=("C1",)), client=None) == []
    assert rows(Scope(legal_entities=("x'); DROP TABLE t; --",))) == [] and len(rows(Scope())) == 3


def test_policy_roles_scope_and_masking():
    pol = access.policy(
        {
            "groups": {"q2c-fin": "finance"},
            "users": {"Sam@Corp.test": ["support"]},
            "masking": {"amounts": ["support", "finance"], "people": []},
            "scopes": {"fred@corp.test": {"legal_entities": ["LE-UK"]}},
        }
    )
    fred = pol.principal("fred@corp.test", "fred@corp.test", ["q2c-fin"])
    assert fred.roles == {"finance"} and fred.scope.legal_entities == ("LE-UK",) and fred.masks("amounts")
    sam = pol.principal("sam@corp.test", "sam@corp.test", None)
    assert sam.roles == {"support"} and not sam.masks("people") and sam.detail
    assert not pol.principal("x", "x@corp.test", ["other"]).roles
    assert pol.as_role("executive").detail is False
    with pytest.raises(access.AccessError, match="nobody"):
        pol.as_role("nobody")
    with pytest.raises(access.AccessError, match=r"masking\.prices"):
        access.policy({"masking": {"prices": ["support"]}})
    with pytest.raises(access.AccessError, match=r"scopes\.x"):
        access.policy({"scopes": {"x": {"countries": ["UK"]}}})
    # hashable: part of the app's cache keys, equal principals share a key, different ones do not
    assert hash(fred) == hash(pol.principal("fred@corp.test", "fred@corp.test", ["q2c-fin"]))
    assert len({fred, sam, Principal("fred@corp.test")}) == 3
