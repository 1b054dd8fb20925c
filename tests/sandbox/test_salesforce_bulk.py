"""Salesforce Bulk API 2.0 query jobs against the sandbox on 127.0.0.1: the same raw table as /query, the job
lifecycle (poll to JobComplete, Failed with its errorMessage), CSV pages by Sforce-Locator, and the faults."""

from __future__ import annotations

import logging

import httpx
import pytest

from closedloop.sandbox import PageCaps, Sandbox, parse_fault
from collectors.http import MalformedResponse
from collectors.salesforce.bulk import csv_page
from collectors.salesforce.streams import streams
from tests.sandbox.helpers import api_collector, collect, connect, raw_rows

BULK = {"bulk_streams": ["account"], "bulk_poll_seconds": 0.001, "bulk_poll_max_seconds": 0.002}


def bulk_jobs(sb: Sandbox) -> dict:
    """The sandbox's Bulk API jobs (the /jobs/query route's handler holds them)."""
    route = next(r for r in sb.app.routes if getattr(r, "path", "").endswith("/jobs/query"))
    return route.endpoint.__self__.jobs


def run(exports, *specs: str, **cfg):
    """Collect Salesforce accounts through a sandbox with these faults (one-record pages)."""
    faults = [parse_fault(s) for s in specs]
    with Sandbox(exports, faults=faults, caps=PageCaps(salesforce=1)) as sb:
        con = connect()
        res = collect(con, api_collector(sb, "salesforce", **cfg), {"account"})
        return res, con, sb


def rest_rows(exports) -> list[tuple]:
    res, con, _ = run(exports)
    assert res.status == "ok", res.errors
    return raw_rows(con, "raw.salesforce__account")


def test_bulk_job_gives_the_same_raw_table_as_query(exports):
    res, con, sb = run(exports, **BULK)
    assert res.status == "ok", res.errors
    assert res.rows == 2
    assert raw_rows(con, "raw.salesforce__account") == rest_rows(exports)
    (job,) = bulk_jobs(sb).values()
    assert job.state == "JobComplete" and job.polls >= 2  # polled through InProgress
    assert job.query.sobject == "Account"


def test_threshold_decides_by_count(exports):
    res, _, sb = run(exports, bulk_threshold=2, bulk_poll_seconds=0.001)
    assert res.status == "ok" and len(bulk_jobs(sb)) == 1  # 2 accounts >= 2: a job
    res, _, sb = run(exports, bulk_threshold=3)
    assert res.status == "ok" and not bulk_jobs(sb)  # 2 < 3: /query


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        ("rate_limit@salesforce:every=2,seconds=0.001", 429),
        ("server_error@salesforce:first=2", 503),
        ("token_expiry@salesforce:every=3", 401),  # the 3rd data request is the second poll
        ("truncated@salesforce:every=4", 200),  # the 4th answer is the first CSV page: cut, re-read
    ],
)
def test_job_lifecycle_recovers_from(exports, spec, status):
    res, con, sb = run(exports, spec, **BULK)
    assert sb.state.counts[("salesforce", status)] >= 1
    assert res.status == "ok", res.errors
    assert raw_rows(con, "raw.salesforce__account") == rest_rows(exports)
    assert bulk_jobs(sb)


def test_failed_job_names_its_error_message_and_no_secret(exports, caplog):
    caplog.set_level(logging.DEBUG)
    res, _, sb = run(
        exports, "job_failed@salesforce:stream=Account", "token_expiry@salesforce:every=2", **BULK
    )
    assert res.status == "failed"
    err = res.errors[0]
    assert "ended Failed" in err and "UNKNOWN_EXCEPTION" in err, err
    assert sb.state.counts[("salesforce", 401)] >= 1  # a token was refreshed on the way
    said = err + "\n" + caplog.text
    creds = sb.state.credentials
    assert creds.salesforce_client_secret not in said
    assert len(sb.state.tokens.issued) >= 2
    assert not [t for t in sb.state.tokens.issued if t in said]
    assert "SELECT Id" not in caplog.text  # the query (it may hold literals) stays out of the logs


def test_repeated_locator_is_a_paging_loop(exports):
    res, _, _ = run(exports, "duplicates@salesforce", **BULK)
    assert res.status == "failed"
    assert "Sforce-Locator" in res.errors[0] and "repeats an earlier page" in res.errors[0]


def test_truncated_csv_page_is_detected():
    read = csv_page(streams()[0].columns)
    body = b'Id,Name\n001A,"Acme"\n001B,"Glo'
    resp = httpx.Response(200, content=body, headers={"Sforce-NumberOfRecords": "2"})
    with pytest.raises(MalformedResponse, match=r"not valid CSV|2 CSV records"):
        read(resp)
    resp = httpx.Response(200, content=b"Id,Name\n001A,Acme\n", headers={"Sforce-NumberOfRecords": "2"})
    with pytest.raises(MalformedResponse, match="1 CSV records, Sforce-NumberOfRecords says 2"):
        read(resp)


def test_csv_cells_typed_as_the_json_page_types_them():
    cols = streams()[1].columns  # opportunity: booleans, decimals, dates
    read = csv_page(cols)
    body = b"Id,IsWon,Amount,CloseDate,Name\n006A,true,125000.5,2024-05-31,\n"
    page = read(httpx.Response(200, content=body, headers={"Sforce-NumberOfRecords": "1"}))
    assert page.records == [
        {"Id": "006A", "IsWon": True, "Amount": 125000.5, "CloseDate": "2024-05-31", "Name": None}
    ]
    bad = b"Id,IsWon\n006A,yes\n"
    with pytest.raises(MalformedResponse, match=r"'IsWon'.*not true/false"):
        read(httpx.Response(200, content=bad, headers={"Sforce-NumberOfRecords": "1"}))


def test_dropped_field_is_tolerated_in_a_job(exports):
    res, con, sb = run(exports, "drift@salesforce:field=Region__c,stream=Account", **BULK)
    assert res.status == "ok", res.errors
    assert con.execute('SELECT count("Region__c") FROM raw.salesforce__account').fetchone() == (0,)
    assert bulk_jobs(sb)


def test_relationship_streams_stay_on_query():
    from collectors.salesforce import check_settings  # the config loader names the file around it

    with pytest.raises(ValueError, match=r"bulk_streams: stream 'opportunity' selects relationship"):
        check_settings({"bulk_streams": ["opportunity"]}, "sources.salesforce")
    with pytest.raises(ValueError, match=r"unknown stream 'nope'"):
        check_settings({"bulk_streams": ["nope"]}, "sources.salesforce")


def test_a_job_past_its_timeout_is_aborted(exports):
    res, _, sb = run(exports, **(BULK | {"bulk_timeout_seconds": 0.0}))
    assert res.status == "failed"
    assert "not finished after" in res.errors[0] and "InProgress" in res.errors[0], res.errors
    (job,) = bulk_jobs(sb).values()
    assert job.state == "Aborted"  # not left running in the org


def test_the_job_protocol_on_the_wire(exports):
    """The sandbox speaks Bulk API 2.0: job states, CSV with Sforce-Locator/NumberOfRecords, its error bodies."""
    with Sandbox(exports, caps=PageCaps(salesforce=1)) as sb, httpx.Client(base_url=sb.base_url) as c:
        creds = sb.state.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.salesforce_client_id,
            "client_secret": creds.salesforce_client_secret,
        }
        c.headers["Authorization"] = (
            "Bearer " + c.post("/services/oauth2/token", data=form).json()["access_token"]
        )
        jobs = "/services/data/v66.0/jobs/query"
        job = c.post(jobs, json={"operation": "query", "query": "SELECT Id, Name FROM Account"}).json()
        assert job["state"] == "UploadComplete" and job["object"] == "Account" and job["id"].startswith("750")
        early = c.get(f"{jobs}/{job['id']}/results")
        assert early.status_code == 400 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
        states = [c.get(f"{jobs}/{job['id']}").json()["state"] for _ in range(2)]
        assert states == ["InProgress", "JobComplete"]
        other = c.get(f"/services/data/v60.0/jobs/query/{job['id']}/results")
        assert other.status_code == 409 and other.json()[0]["errorCode"] == "INVALIDVERSION"
        first = c.get(f"{jobs}/{job['id']}/results", params={"maxRecords": 1})
        assert first.headers["content-type"].startswith("text/csv")
        assert first.headers["Sforce-NumberOfRecords"] == "1" and first.headers["Sforce-Locator"] != "null"
        assert first.text.splitlines()[0] == "Id,Name"
        last = c.get(
            f"{jobs}/{job['id']}/results",
            params={"maxRecords": 1, "locator": first.headers["Sforce-Locator"]},
        )
        assert last.headers["Sforce-Locator"] == "null" and len(last.text.splitlines()) == 2
        bad = c.post(jobs, json={"operation": "query", "query": "SELECT Nope__c FROM Account"})
        assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
        gone = c.get(f"{jobs}/750SB0000000000099")
        assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "NOT_FOUND"
        count = c.get("/services/data/v66.0/query", params={"q": "SELECT COUNT() FROM Account"}).json()
        assert count == {"totalSize": 2, "done": True, "records": []}
