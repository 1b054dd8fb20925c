"""app/deeplinks.py: record pages in Salesforce, NetSuite and Ironclad, built from config and never from data."""

from __future__ import annotations

from app.deeplinks import Link, links, record_url

SOURCES = {
    "salesforce": {"kind": "salesforce", "instance_url": "https://acme.my.salesforce.com/"},
    "netsuite": {"kind": "netsuite", "account_id": "1234567_SB1"},
    "ironclad": {"kind": "ironclad", "base_url": "https://eu1.ironcladapp.com/public/api/v1"},
    "crm2": {"kind": "salesforce", "token_url": "https://login.salesforce.com/services/oauth2/token"},
}


def rec(etype, sid, source, label=None, record_type=None):
    return {"entity_type": etype, "entity_id": sid, "label": label, "record_type": record_type,
            "source_system": source, "source_id": sid}  # fmt: skip


def test_each_system_links_to_its_record_page():
    got = links(
        [rec("invoice", "10000465", "netsuite", "INV0000465", "invoice"), rec("opportunity", "006XYZ", "salesforce"),
         rec("sow", "65a1020077dd3aea7b7fae8c", "ironclad"), rec("payment", "42", "netsuite"),
         rec("invoice", "77", "netsuite", "CN-1", "credit_note"), rec("client", "001ABC", "salesforce", "Globex")],
        SOURCES,
    )  # fmt: skip
    urls = [lk.url for lk in got]
    assert urls == [
        "https://1234567-sb1.app.netsuite.com/app/accounting/transactions/custinvc.nl?id=10000465",
        "https://acme.my.salesforce.com/lightning/r/Opportunity/006XYZ/view",
        "https://eu1.ironcladapp.com/records/65a1020077dd3aea7b7fae8c",
        "https://1234567-sb1.app.netsuite.com/app/accounting/transactions/custpymt.nl?id=42",
        "https://1234567-sb1.app.netsuite.com/app/accounting/transactions/custcred.nl?id=77",
        "https://acme.my.salesforce.com/lightning/r/Account/001ABC/view",
    ]
    assert got[0] == Link("NetSuite", "invoice", "invoice INV0000465", urls[0])


def test_without_a_configured_host_there_is_no_link_but_the_setting_to_add_one():
    got = links(
        [rec("opportunity", "006", "crm2"), rec("invoice", "1", "netsuite")],
        {**SOURCES, "netsuite": {"kind": "netsuite"}},
    )
    assert [(lk.url, lk.missing) for lk in got] == [
        (None, "[sources.crm2] instance_url"),  # a generic login host names no org
        (None, "[sources.netsuite] account_id"),
    ]
    assert links([rec("invoice", "1", "elsewhere")], SOURCES) == []  # a source not in this config


def test_ids_from_data_are_quoted_and_hosts_must_be_http():
    url = record_url("netsuite", SOURCES["netsuite"], "invoice", "1&x=<script>\"'/..", "invoice")
    assert (
        url
        == "https://1234567-sb1.app.netsuite.com/app/accounting/transactions/custinvc.nl?id=1%26x%3D%3Cscript%3E%22%27%2F.."
    )
    for bad in (
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://user:pw@evil.example",
        "ftp://x",
        "https://a b",
        "",
    ):
        assert record_url("salesforce", {"instance_url": bad}, "opportunity", "006", None) is None, bad
    assert record_url("netsuite", {"account_id": "123/../evil.com?"}, "invoice", "1", None) is None
    assert record_url("ironclad", SOURCES["ironclad"], "invoice", "1", None) is None  # not an Ironclad record
