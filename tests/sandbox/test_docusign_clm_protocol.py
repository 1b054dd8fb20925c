"""DocuSign Navigator against the sandbox on 127.0.0.1: JWT grant, ctoken paging to the end, faults recovered or
reported with Navigator's own error words, no secret in any error, files and HTTP giving the same raw table."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from closedloop.demo.exports import render_exports
from closedloop.sandbox import Credentials, Sandbox, parse_fault
from closedloop.sandbox import docusign_clm as sandbox_docusign
from collectors.auth import AuthError
from collectors.docusign_clm.api import parse_agreements_page
from collectors.http import MalformedResponse
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_collector, collect, connect, files_collector, raw_rows

VENDOR = "docusign_clm"
KEYS = Credentials.with_keypair()
SYSTEMS = ("salesforce", VENDOR, "netsuite")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("docusign-exports")
    render_exports(firm_fixture.build(), root, systems=SYSTEMS)
    return root


def run_with(exports, *specs: str, page_size: int = 1, **overrides):
    with Sandbox(exports, faults=[parse_fault(s) for s in specs], credentials=KEYS) as sb:
        con = connect()
        collector = api_collector(sb, VENDOR, page_size=page_size, **overrides)
        res = collect(con, collector)
        return res, con, sb, collector


def from_files(exports):
    con = connect()
    res = collect(con, files_collector(exports, VENDOR))
    assert res.status == "ok"
    return con


def test_pages_to_the_end_and_matches_the_file_export(exports):
    res, con, sb, collector = run_with(exports)
    assert res.status == "ok", res.errors
    total = len((exports / VENDOR / "agreements.jsonl").read_text().splitlines())
    assert total > 3 and res.rows == total
    assert sb.state.counts[(VENDOR, 200)] >= total + 1  # the token and a page per agreement
    assert collector.http._client.auth.tokens_minted == 1
    assert raw_rows(con, "raw.docusign_clm__agreements") == raw_rows(
        from_files(exports), "raw.docusign_clm__agreements"
    )


RECOVERED = [
    ("rate_limit@docusign_clm:every=2,seconds=0.001", 429),
    ("server_error@docusign_clm:first=3", 503),
    ("token_expiry@docusign_clm:every=3", 401),
    ("slow@docusign_clm:every=2,seconds=0.005", 200),
    ("truncated@docusign_clm:every=4", 200),
]


@pytest.mark.parametrize(("spec", "status"), RECOVERED)
def test_retryable_faults_complete(exports, spec, status):
    res, con, sb, collector = run_with(exports, spec)
    assert sb.state.counts[(VENDOR, status)] >= 1, dict(sb.state.counts)
    assert res.status == "ok", res.errors
    assert raw_rows(con, "raw.docusign_clm__agreements") == raw_rows(
        from_files(exports), "raw.docusign_clm__agreements"
    )
    if spec.startswith("token_expiry"):  # one fresh JWT grant per expiry, never a loop
        assert collector.http._client.auth.tokens_minted >= 2


def test_rate_limit_answer_carries_retry_after_and_pages_carry_rate_limit_headers(exports):
    with Sandbox(
        exports, faults=[parse_fault("rate_limit@docusign_clm:first=1,seconds=7")], credentials=KEYS
    ) as sb:
        cfg = sb.source_config()[VENDOR]
        headers = {"Authorization": f"Bearer {sb.state.tokens.issue(VENDOR)}"}
        url = f"{cfg['base_url']}/v1/accounts/{cfg['account_id']}/agreements?limit=2"
        limited = httpx.get(url, headers=headers)
        page = httpx.get(url, headers=headers)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert set(limited.json()) == {"error", "code", "timestamp"} and limited.json()["code"] == 429
    assert page.status_code == 200 and int(page.headers["X-RateLimit-Remaining"]) < int(
        page.headers["X-RateLimit-Limit"]
    )
    doc = page.json()
    assert len(doc["data"]) == 2 and "ctoken=" in doc["_links"]["next"]["href"]


def test_repeated_record_across_pages_is_dropped_and_counted(exports):
    res, con, _, _ = run_with(exports, "duplicates@docusign_clm", page_size=2)
    assert res.status == "ok", res.errors
    assert sum(s.duplicates for s in res.streams) > 0
    assert raw_rows(con, "raw.docusign_clm__agreements") == raw_rows(
        from_files(exports), "raw.docusign_clm__agreements"
    )


def test_a_page_served_again_is_a_paging_loop_error(exports):
    # pages of one record that overlap by one: the next link names the page just read
    res, _, _, _ = run_with(exports, "duplicates@docusign_clm", page_size=1)
    assert res.status == "failed" and "repeats an earlier page (paging loop)" in res.errors[0], res.errors


FATAL = [
    ("truncated@docusign_clm:every=1", ["stream agreements", "not valid JSON"]),
    ("echo_credentials@docusign_clm:every=1", ["stream agreements", "HTTP 400", "Malformed request"]),
    ("rate_limit@docusign_clm:every=1,seconds=1000", ["stream agreements", "HTTP 429", "too long"]),
]


@pytest.mark.parametrize(("spec", "words"), FATAL)
def test_fatal_faults_name_the_stream_and_navigator_message_without_secrets(exports, spec, words, caplog):
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
    assert "BEGIN PRIVATE KEY" not in logs and KEYS.private_key_pem[40:80] not in logs
    assert "BEGIN PRIVATE KEY" not in first and "Bearer" not in first


def test_a_dropped_custom_provision_is_data_not_an_error(exports):
    res, con, _, _ = run_with(exports, "drift@docusign_clm:field=correlation_id,to=flow_id")
    assert res.status == "ok", res.errors
    custom = [
        json.loads(c)
        for (c,) in con.execute("SELECT custom_provisions FROM raw.docusign_clm__agreements").fetchall()
    ]
    assert all("correlation_id" not in c for c in custom) and any("flow_id" in c for c in custom)


def test_jwt_grant_refusals_are_clear_and_show_no_key(exports):
    other = Credentials.with_keypair()  # a key the sandbox does not know: the signature fails
    with Sandbox(exports, credentials=KEYS) as sb:
        cfg = {"kind": VENDOR, **sb.source_config()[VENDOR], "page_size": 5}
        module = __import__("collectors.docusign_clm", fromlist=["api_collector"])
        bad_key = module.api_collector(cfg, {"private_key": other.private_key_pem})
        res = collect(connect(), bad_key)
        assert res.status == "failed" and "no_valid_keys_or_signatures" in res.errors[0], res.errors
        assert "PRIVATE KEY" not in res.errors[0]
        wrong_user = module.api_collector(
            {**cfg, "user_id": "someone"}, {"private_key": KEYS.private_key_pem}
        )
        res = collect(connect(), wrong_user)
        assert res.status == "failed" and "invalid_grant" in res.errors[0], res.errors
    with pytest.raises(AuthError, match="private key is not a readable"):
        module.api_collector(cfg, {"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key"})
    with pytest.raises(AuthError, match="CLOSEDLOOP_DOCUSIGN_CLM_PRIVATE_KEY"):
        module.api_collector(cfg, {})


def test_page_parser_rejects_malformed_envelopes():
    assert parse_agreements_page({"data": [], "_links": {}}).next_url is None
    with pytest.raises(MalformedResponse, match="'data'"):
        parse_agreements_page({"items": []})
    with pytest.raises(MalformedResponse, match=r"next\.href"):
        parse_agreements_page({"data": [], "_links": {"next": {"href": 3}}})


def test_bare_loop_reads_every_agreement(exports):
    with Sandbox(exports, credentials=KEYS) as sb, httpx.Client() as client:
        n = sandbox_docusign.bare_loop(client, sb.base_url, KEYS)
    assert n == len((exports / VENDOR / "agreements.jsonl").read_text().splitlines())
