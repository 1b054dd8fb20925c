"""app/evidence.py: expected vs actual with units and currency, the money and the FX used; never a guess."""

from __future__ import annotations

from app.evidence import describe


def test_a_rate_break_reads_as_the_issue_says():
    ev = describe(
        {"billed_rate": 400, "contract_rate": 463, "quantity": 8.0, "under_billed_ccy": 504, "currency": "GBP",
         "fx_rate": 1.27, "fx_date": "2026-10-31"},
        impact_rc="640.08",
    )  # fmt: skip
    assert ev.sentence == (
        "billed 400.00 GBP/h, contract 463.00 GBP/h, 8.0 h → 504.00 GBP under-billed = $640.08 at 1.27 on 2026-10-31"
    )
    assert ("FX used", "1.27 GBP→USD on 2026-10-31") in ev.fields


def test_the_document_currency_is_used_when_the_rule_names_none():
    ev = describe(
        {"billed": 36.97, "expected": 32.15}, impact_rc="4.82", document_ccy="EUR", reporting_ccy="USD"
    )
    assert ev.sentence == "billed 36.97 EUR, expected 32.15 EUR"
    ev = describe({"sow_rc": 26000, "opp_rc": 28681}, impact_rc="2681", reporting_ccy="USD")
    assert ev.sentence == "opportunity $28,681.00, SOW $26,000.00"


def test_units_are_spelled_out():
    fields = dict(
        describe(
            {"age_bd": 65, "age_days": 11, "hours": 6.0, "p_leak": 0.8, "tax_rate": 0.2, "open_rc": 76396.04,
             "posted": True},
            impact_rc=None,
        ).fields
    )  # fmt: skip
    assert fields == {
        "age bd": "65 business days",
        "age days": "11 days",
        "hours": "6.0 h",
        "p leak": "80.0%",
        "tax rate": "20.0%",
        "open (reporting)": "$76,396.04",
        "posted": "yes",
    }


def test_without_a_currency_or_fx_nothing_is_invented():
    ev = describe({"billed_rate": 125, "contract_rate": 143, "quantity": 3}, impact_rc="54.00")
    assert ev.sentence == "billed 125.00/h, contract 143.00/h, 3.0 h"  # no currency known: none written
    assert not any(k == "FX used" for k, _ in ev.fields)


def test_bad_or_hostile_details_are_kept_as_text():
    assert describe("not json <b>x</b>", impact_rc=1).fields == [("details", "not json <b>x</b>")]
    assert describe(None, impact_rc=None).sentence is None
    ev = describe(
        {"role": "=1+1 <script>", "amount": "NaN", "billed_rate": "x", "contract_rate": None}, impact_rc="1"
    )
    assert ("role", "=1+1 <script>") in ev.fields and ("amount", "NaN") in ev.fields


def test_a_break_in_the_reporting_currency_needs_no_conversion():
    ev = describe({"billed_rate": 125, "contract_rate": 143, "quantity": 3, "under_billed_ccy": 54}, impact_rc="54.00",
                  document_ccy="USD")  # fmt: skip
    assert (
        ev.sentence
        == "billed 125.00 USD/h, contract 143.00 USD/h, 3.0 h → 54.00 USD under-billed (no conversion)"
    )
