"""Salesforce REST transport over recorded payload shapes: paging, refresh, limits, logs, parity with files."""

from __future__ import annotations

import datetime as dt
import json
import logging

import duckdb
import httpx
import pytest

from collectors.base import StreamState
from collectors.files import FilesCollector
from collectors.http import MalformedResponse, RequestLimitError
from collectors.runner import collect_source
from collectors.salesforce import streams as sf_streams
from collectors.salesforce.api import SalesforceAPI, parse_query_page, soql
from tests.collectors.http_fakes import FakeClock, FakeServer, load, reply

TOKEN = "/services/oauth2/token"
QUERY = "/services/data/v66.0/query"
PAGE2 = "/services/data/v66.0/query/01gRO0000016PIAYA2-2"
SECRET = "cl13nt-s3cr3t-value"
CFG = {
    "client_id": "3MVG9consumer",
    "token_url": "https://login.salesforce.com" + TOKEN,
    "api_version": "v66.0",
}


def streams():
    return {s.name: s for s in sf_streams()}


def api(server: FakeServer, clock: FakeClock | None = None, **cfg) -> SalesforceAPI:
    clock = clock or FakeClock()
    secrets = {"client_secret": SECRET}
    return SalesforceAPI(CFG | cfg, secrets, sf_streams(), transport=server.transport, policy=clock.policy())


def org(*page1_first: httpx.Response) -> FakeServer:
    """An org whose token endpoint works and whose opportunity query has two pages."""
    server = FakeServer().add("POST", TOKEN, reply(200, "token_response.json", vendor="salesforce"))
    server.add("GET", QUERY, *page1_first, reply(200, "query_page1.json", vendor="salesforce"))
    server.add("GET", PAGE2, reply(200, "query_page2.json", vendor="salesforce"))
    return server


def records() -> list[dict]:
    return (
        load("salesforce", "query_page1.json")["records"] + load("salesforce", "query_page2.json")["records"]
    )


def test_pages_to_the_end_yielding_records_exactly_as_sent():
    server = org()
    state = StreamState()
    batches = list(api(server, batch_size=500).read(streams()["opportunity"], state))
    assert [r for b in batches for r in b.records] == records()
    assert [b.first_row for b in batches] == [1, 3]
    q = server.calls(QUERY)[0]
    assert q.url.host == "acme.my.salesforce.com"  # instance_url from the token response
    assert q.headers["Sforce-Query-Options"] == "batchSize=500"
    assert q.url.params["q"].startswith("SELECT Id, Name, AccountId, Account.Name, StageName")
    assert q.url.params["q"].endswith("FROM Opportunity ORDER BY SystemModstamp")
    assert state.cursor == "2024-06-02T17:45:30.250+0000"


def test_incremental_query_starts_after_the_cursor():
    query = soql(streams()["account"], "Account", "2024-05-31T14:03:12.250+0000", {})
    assert query.endswith("FROM Account WHERE SystemModstamp > 2024-05-31T14:03:12Z ORDER BY SystemModstamp")
    assert "Invoice_Status__c" in soql(streams()["invoice_status"], "Invoice_Status__c", None, {})
    assert "Opportunity__r.Name" in soql(streams()["invoice_status"], "Invoice_Status__c", None, {})


def test_401_mid_pagination_refreshes_once_and_continues():
    server = org()
    server.routes[("GET", PAGE2)] = [
        reply(401, "error_invalid_session.json", vendor="salesforce"),
        reply(200, "query_page2.json", vendor="salesforce"),
    ]
    collector = api(server)
    got = [r for b in collector.read(streams()["opportunity"], StreamState()) for r in b.records]
    assert got == records()
    assert collector.auth.tokens_minted == 2
    assert len(server.calls(PAGE2)) == 2


def test_total_requests_limit_stops_the_source_with_a_clear_error():
    server = org(reply(403, "error_total_requests.json", vendor="salesforce"))
    clock = FakeClock()
    collector = api(server, clock)
    with pytest.raises(RequestLimitError) as err:
        list(collector.read(streams()["opportunity"], StreamState()))
    assert "TotalRequests Limit exceeded" in str(err.value) and "24-hour API request allowance" in str(
        err.value
    )
    assert clock.sleeps == [] and len(server.calls(QUERY)) == 1
    # the next stream of the same source fails at once, without spending another request
    with pytest.raises(RequestLimitError):
        list(collector.read(streams()["account"], StreamState()))
    assert len(server.calls(QUERY)) == 1


def test_concurrent_requests_limit_is_retried():
    server = org(reply(403, "error_concurrent_requests.json", vendor="salesforce"))
    clock = FakeClock()
    got = [r for b in api(server, clock).read(streams()["opportunity"], StreamState()) for r in b.records]
    assert len(got) == 3 and len(clock.sleeps) == 1


def test_bad_field_fails_fast_naming_the_vendor_error_but_not_the_query():
    server = org(reply(400, "error_malformed_query.json", vendor="salesforce"))
    with pytest.raises(Exception) as err:
        list(api(server).read(streams()["opportunity"], StreamState()))
    assert "INVALID_FIELD" in str(err.value) and "No such column" in str(err.value)
    assert "SELECT Id, Name" not in str(err.value)


def test_malformed_pages_are_clear_errors():
    server = org(reply(200, {"done": "yes", "records": []}))
    server.routes[("GET", QUERY)] = [reply(200, {"done": "yes", "records": []})]
    with pytest.raises(MalformedResponse, match="'done' is a str"):
        list(api(server).read(streams()["opportunity"], StreamState()))
    with pytest.raises(MalformedResponse, match="no nextRecordsUrl"):
        parse_query_page({"done": False, "records": []})
    with pytest.raises(MalformedResponse, match="item 1 is a int"):
        parse_query_page({"done": True, "records": [{}, 5]})


def test_logs_never_show_tokens_secrets_or_queries(caplog):
    """A run with a 401 refresh and a 5xx retry, logged at DEBUG everywhere (httpx included)."""
    server = org(reply(503, "busy"))
    server.routes[("GET", PAGE2)] = [
        reply(401, "error_invalid_session.json", vendor="salesforce"),
        reply(200, "query_page2.json", vendor="salesforce"),
    ]
    with caplog.at_level(logging.DEBUG):
        collector = api(server)
        list(collector.read(streams()["opportunity"], StreamState()))
    text = "\n".join(r.getMessage() for r in caplog.records)
    token = load("salesforce", "token_response.json")["access_token"]
    assert "503" in text and "acme.my.salesforce.com/services/data/v66.0/query" in text  # it did log
    for banned in (SECRET, token, "Bearer", "Authorization", "SELECT", "SystemModstamp", "q=", "?", "3MVG9"):
        assert banned not in text, banned
    assert SECRET not in repr(collector.http) and SECRET not in repr(collector.auth)


def test_raw_tables_from_the_api_equal_those_from_exported_files(tmp_path):
    server = org()
    export = tmp_path / "sf"
    export.mkdir()
    (export / "Opportunity.jsonl").write_text("\n".join(json.dumps(r) for r in records()) + "\n")
    only = [streams()["opportunity"]]
    tables = []
    for i, collector in enumerate([api(server), FilesCollector("salesforce", export, only)]):
        collector._streams = only
        con = duckdb.connect(str(tmp_path / f"w{i}.duckdb"))
        con.execute("SET TimeZone='UTC'")
        result = collect_source(
            con, collector, run_id="r", extracted_at=dt.datetime(2026, 10, 31, tzinfo=dt.UTC)
        )
        assert result.status == "ok", result.errors
        tables.append(
            con.execute(
                'SELECT * EXCLUDE (_source_file, _source_row) FROM raw.salesforce__opportunity ORDER BY "Id"'
            ).fetchall()
        )
        con.close()
    assert tables[0] == tables[1] and len(tables[0]) == 3


def test_api_collector_reads_secrets_through_the_pipeline_callable():
    from collectors.salesforce.api import api_collector

    seen = []
    collector = api_collector(CFG, lambda name: seen.append(name) or {"client_secret": SECRET}.get(name))
    assert [s.name for s in collector.streams()] == ["account", "opportunity", "invoice_status"]
    assert seen == ["client_id", "client_secret"]
