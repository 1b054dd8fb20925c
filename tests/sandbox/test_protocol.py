"""The sandbox speaks each vendor's wire protocol, errors included, to any HTTP client."""

from __future__ import annotations

import httpx
import pytest

from closedloop.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    from closedloop.demo.exports import render_exports
    from tests.collectors import firm_fixture

    root = tmp_path_factory.mktemp("protocol")
    render_exports(firm_fixture.build(), root)
    with Sandbox(root) as sandbox:
        yield sandbox


def sf_token(sb, client) -> str:
    c = sb.state.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": c.salesforce_client_id,
        "client_secret": c.salesforce_client_secret,
    }
    doc = client.post(f"{sb.base_url}/services/oauth2/token", data=form).json()
    assert doc["instance_url"] == sb.base_url and doc["token_type"] == "Bearer"
    return doc["access_token"]


def test_salesforce_errors_are_json_arrays(sb):
    with httpx.Client(base_url=sb.base_url) as client:
        bad = client.post(
            "/services/oauth2/token", data={"grant_type": "client_credentials", "client_id": "x"}
        )
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client_id"
        h = {"Authorization": "Bearer " + sf_token(sb, client)}
        for q, code in [
            ("SELEKT Id FROM Account", "MALFORMED_QUERY"),
            ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
            ("SELECT Nope__c FROM Account", "INVALID_FIELD"),
        ]:
            r = client.get("/services/data/v66.0/query", params={"q": q}, headers=h)
            assert r.status_code == 400 and r.json()[0]["errorCode"] == code
        r = client.get("/services/data/v66.0/query/01gNOPE-2", headers=h)
        assert r.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
        r = client.get("/services/data/v66.0/query", params={"q": "SELECT Id FROM Account"})
        assert r.status_code == 401 and r.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
        q = "SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp > 2025-02-01T00:00:00Z ORDER BY SystemModstamp"
        r = client.get("/services/data/v66.0/query", params={"q": q}, headers=h).json()
        assert r["done"] and r["totalSize"] == len(r["records"]) == 2  # March and April, not January
        assert [x["SystemModstamp"][:7] for x in r["records"]] == ["2025-03", "2025-04"]


def test_netsuite_needs_prefer_transient_and_valid_paging(sb):
    with httpx.Client(base_url=sb.base_url) as client:
        from collectors.auth import NetSuiteTBA

        c = sb.state.credentials
        auth = NetSuiteTBA(
            c.netsuite_account_id,
            c.netsuite_consumer_key,
            c.netsuite_consumer_secret,
            c.netsuite_token_id,
            c.netsuite_token_secret,
        )
        url = "/services/rest/query/v1/suiteql"
        body = {"q": "SELECT id, companyname FROM customer WHERE id > 1000001 ORDER BY id"}
        r = client.post(url, params={"limit": 1, "offset": 0}, json=body, auth=auth)
        assert r.status_code == 400 and r.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_HEADER"
        ok = client.post(
            url, params={"limit": 1, "offset": 1}, json=body, auth=auth, headers={"Prefer": "transient"}
        )
        doc = ok.json()
        assert (doc["count"], doc["hasMore"], doc["totalResults"], doc["offset"]) == (1, False, 2, 1)
        assert doc["items"][0]["id"] == "1000003" and doc["items"][0]["links"] == []
        bad = client.post(
            url, params={"limit": 2, "offset": 1}, json=body, auth=auth, headers={"Prefer": "transient"}
        )
        assert bad.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
        r = client.post(url, json={"q": "SELECT id FROM nope"}, auth=auth, headers={"Prefer": "transient"})
        assert r.status_code == 400 and "Invalid search query" in r.json()["o:errorDetails"][0]["detail"]
        # SELECT DISTINCT (discover asks every value of a status column this way): each combination once
        every = {"q": "SELECT type FROM transaction"}
        distinct = {"q": "SELECT DISTINCT type FROM transaction"}
        rows, once = (
            client.post(url, json=q, auth=auth, headers={"Prefer": "transient"}).json()["items"]
            for q in (every, distinct)
        )
        values = [i.get("type") for i in rows]
        assert len(values) > len({*values}) > 1
        assert sorted(map(str, (i.get("type") for i in once))) == sorted(map(str, {*values}))


def test_ironclad_requires_the_user_header(sb):
    c = sb.state.credentials
    with httpx.Client(base_url=sb.base_url) as client:
        form = {
            "grant_type": "client_credentials",
            "client_id": c.ironclad_client_id,
            "client_secret": c.ironclad_client_secret,
        }
        token = client.post("/oauth/token", data=form).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        assert client.get("/public/api/v1/records", headers=h).status_code == 403
        h["x-as-user-email"] = c.ironclad_user_email
        doc = client.get("/public/api/v1/records", params={"types": "msa", "pageSize": 500}, headers=h).json()
        assert (doc["page"], doc["pageSize"], doc["count"], len(doc["list"])) == (0, 100, 1, 1)
        assert client.get("/public/api/v1/workflows", headers=h).json()["list"] == []
