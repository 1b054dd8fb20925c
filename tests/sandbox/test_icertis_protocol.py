"""Icertis through the generic REST source against the sandbox tenant on 127.0.0.1: client-credentials token,
skip/top paging to TotalCount, faults recovered or reported with the tenant's words and no secret, and the REST
API and the scheduled CSV exports giving identical raw tables."""

from __future__ import annotations

import logging

import httpx
import pytest

from closedloop.demo.exports import render_exports
from closedloop.sandbox import Sandbox, parse_fault
from closedloop.sandbox import icertis as sandbox_icertis
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_collector, collect, connect, files_collector, raw_rows

VENDOR = "icertis"
SYSTEMS = ("salesforce", VENDOR, "netsuite")
TABLES = [f"raw.icertis__{s}" for s in ("msa", "sow", "amendment", "rate_card", "milestone")]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("icertis-exports")
    render_exports(firm_fixture.build(), root, systems=SYSTEMS)
    return root


def run_with(exports, *specs: str, page_size: int = 1, **overrides):
    with Sandbox(exports, faults=[parse_fault(s) for s in specs]) as sb:
        con = connect()
        collector = api_collector(sb, VENDOR, page_size=page_size, **overrides)
        res = collect(con, collector)
        return res, con, sb, collector


def assert_same_as_files(exports, con) -> None:
    want = connect()
    assert collect(want, files_collector(exports, VENDOR)).status == "ok"
    for table in TABLES:
        assert raw_rows(con, table) == raw_rows(want, table), table


def test_rest_and_csv_exports_give_identical_raw_tables(exports):
    res, con, sb, collector = run_with(exports)
    assert res.status == "ok", res.errors
    assert res.rows > 5 and sb.state.counts[(VENDOR, 200)] > res.rows  # a page per record, plus the token
    assert collector.http._client.auth.tokens_minted == 1
    assert_same_as_files(exports, con)


RECOVERED = [
    ("rate_limit@icertis:every=2,seconds=0.001", 429),
    ("server_error@icertis:first=3", 503),
    ("token_expiry@icertis:every=3", 401),
    ("truncated@icertis:every=4", 200),
    ("duplicates@icertis", 200),
]


@pytest.mark.parametrize(("spec", "status"), RECOVERED)
def test_retryable_faults_complete(exports, spec, status):
    res, con, sb, collector = run_with(exports, spec)
    assert sb.state.counts[(VENDOR, status)] >= 1, dict(sb.state.counts)
    assert res.status == "ok", res.errors
    assert_same_as_files(exports, con)
    if spec.startswith("token_expiry"):
        assert collector.http._client.auth.tokens_minted >= 2
    if spec.startswith("duplicates"):
        assert sum(s.duplicates for s in res.streams) > 0


FATAL = [
    ("truncated@icertis:every=1", ["stream msa", "not valid JSON"]),
    ("echo_credentials@icertis:every=1", ["stream msa", "HTTP 400", "Malformed request"]),
    ("rate_limit@icertis:every=1,seconds=1000", ["stream msa", "HTTP 429", "too long"]),
]


@pytest.mark.parametrize(("spec", "words"), FATAL)
def test_fatal_faults_name_the_stream_and_the_tenant_message_without_secrets(exports, spec, words, caplog):
    caplog.set_level(logging.DEBUG)
    res, _, sb, _ = run_with(exports, spec)
    assert res.status == "failed"
    first = res.errors[0]
    for word in words:
        assert word in first, first
    logs = caplog.text
    assert logs  # the failure was logged, and the log holds no token or secret either
    for token in sb.state.tokens.issued:
        assert token not in first and token not in logs
    assert sb.state.credentials.client(VENDOR)[1] not in logs
    assert sb.state.credentials.client(VENDOR)[1] not in first and "Bearer" not in first


def test_a_wrong_client_secret_is_refused_with_the_token_endpoint_words(exports):
    with Sandbox(exports) as sb:
        cfg = {"kind": VENDOR, **sb.source_config()[VENDOR]}
        from collectors import icertis

        res = collect(connect(), icertis.api_collector(cfg, {"client_secret": "not-it-0123"}))
    assert res.status == "failed" and "invalid_client" in res.errors[0], res.errors
    assert "not-it-0123" not in res.errors[0]


def test_a_renamed_attribute_is_a_missing_column_not_a_failure(exports):
    res, con, _, _ = run_with(exports, "drift@icertis:field=CorrelationId,to=FlowId")
    assert res.status == "ok", res.errors
    sow = next(s for s in res.streams if s.stream == "sow")
    assert "CorrelationId" in sow.missing_fields
    assert con.execute('SELECT count("CorrelationId") FROM raw.icertis__sow').fetchone()[0] == 0


def test_bare_loop_reads_every_record(exports):
    with Sandbox(exports) as sb, httpx.Client() as client:
        n = sandbox_icertis.bare_loop(client, sb.base_url, sb.state.credentials)
    rows = sum(len(p.read_text().splitlines()) - 1 for p in (exports / VENDOR).glob("*.csv"))
    assert n == rows
