"""Each sandbox fault against the real collectors on 127.0.0.1: retryable ones complete, fatal ones say why."""

from __future__ import annotations

import json

import pytest

from closedloop.sandbox import Credentials, PageCaps, Sandbox, parse_fault
from tests.sandbox.helpers import api_collector, collect, connect, files_collector, raw_rows

SMALL = {"salesforce": {}, "netsuite": {"page_size": 2}, "ironclad": {"page_size": 1}}
# NetSuite has 21 streams; three of them page enough (transaction: 4 pages of 2) and keep the suite quick
ONLY = {"netsuite": {"currency", "customer", "transaction"}}
KEYS = Credentials.with_keypair()  # NetSuite over M2M: a revoked token is re-minted (TBA has no refresh)


def run_with(exports, vendor: str, *specs: str):
    """Collect one vendor through a sandbox with these faults; (result, connection, sandbox counts)."""
    faults = [parse_fault(s) for s in specs]
    with Sandbox(exports, faults=faults, credentials=KEYS, caps=PageCaps(salesforce=1, ironclad=1)) as sb:
        con = connect()
        res = collect(con, api_collector(sb, vendor, **SMALL[vendor]), ONLY.get(vendor))
        return res, con, sb.state.counts


def assert_complete(exports, vendor, res, con) -> None:
    """Every stream written, row for row what the file exports hold."""
    assert res.status == "ok", res.errors
    want = connect()
    collect(want, files_collector(exports, vendor), ONLY.get(vendor))
    for st in res.streams:
        assert raw_rows(con, st.table) == raw_rows(want, st.table), st.table


RETRYABLE = [
    ("concurrent_limit@salesforce:every=2", "salesforce", 403),
    ("concurrent_limit@netsuite:every=3", "netsuite", 400),
    *[(f"rate_limit@{v}:every=2,seconds=0.001", v, 429) for v in ("salesforce", "netsuite", "ironclad")],
    *[(f"server_error@{v}:first=2", v, 503) for v in ("salesforce", "netsuite", "ironclad")],
    ("server_error@netsuite:every=4,status=500", "netsuite", 500),
    *[(f"token_expiry@{v}:every=3", v, 401) for v in ("salesforce", "netsuite", "ironclad")],
    *[(f"slow@{v}:every=2,seconds=0.005", v, 200) for v in ("salesforce", "netsuite", "ironclad")],
    *[(f"truncated@{v}:every=4", v, 200) for v in ("salesforce", "netsuite", "ironclad")],
    ("duplicates@netsuite", "netsuite", 200),
    ("duplicates@ironclad", "ironclad", 200),
]


@pytest.mark.parametrize(("spec", "vendor", "status"), RETRYABLE)
def test_retryable_fault_completes(exports, spec, vendor, status):
    res, con, counts = run_with(exports, vendor, spec)
    assert counts[(vendor, status)] >= 1, f"{spec} never fired: {dict(counts)}"
    assert_complete(exports, vendor, res, con)
    if spec.startswith("duplicates"):  # the repeated records were really sent, and dropped by the runner
        assert sum(s.duplicates for s in res.streams) > 0


@pytest.mark.parametrize("spec", ["token_expiry@netsuite:every=2", "stale_nonce@netsuite:every=2"])
def test_tba_signs_afresh_once_on_a_401_and_completes(exports, spec):
    """TBA has no token to refresh: a 401 (a nonce seen before, a stale timestamp) is answered by signing the
    request again once, as the OAuth 2.0 flows mint a new token once."""
    with Sandbox(exports, faults=[parse_fault(spec)], caps=PageCaps(salesforce=1, ironclad=1)) as sb:
        con = connect()
        res = collect(con, api_collector(sb, "netsuite", page_size=2), ONLY["netsuite"])
        assert sb.state.counts[("netsuite", 401)] >= 2, dict(sb.state.counts)
    assert_complete(exports, "netsuite", res, con)


def test_tba_refused_twice_is_final_and_says_so(exports):
    with Sandbox(exports, faults=[parse_fault("stale_nonce@netsuite:every=1")]) as sb:
        res = collect(connect(), api_collector(sb, "netsuite", page_size=2), ONLY["netsuite"])
        # each stream: signed, refused, signed afresh, refused; then it fails (no loop)
        assert sb.state.counts[("netsuite", 401)] == 2 * len(res.streams) == 6
    assert res.status == "failed"
    assert "token-based auth refused (HTTP 401), again after signing afresh: INVALID_LOGIN" in res.errors[0]


def test_a_replayed_tba_nonce_is_refused_by_the_sandbox(exports):
    import httpx

    from collectors.auth import NetSuiteTBA

    with Sandbox(exports) as sb:
        creds = sb.state.credentials
        tba = NetSuiteTBA(
            creds.netsuite_account_id,
            creds.netsuite_consumer_key,
            creds.netsuite_consumer_secret,
            creds.netsuite_token_id,
            creds.netsuite_token_secret,
            nonce=lambda: "always-the-same",
        )
        url = f"{sb.base_url}/services/rest/query/v1/suiteql?limit=1&offset=0"
        request = httpx.Request("POST", url, json={"q": "SELECT id FROM currency"})
        header = tba.header(request)
        statuses = []
        with httpx.Client() as client:
            for _ in range(2):
                request.headers["Authorization"] = header
                request.headers["Prefer"] = "transient"
                statuses.append(client.send(request).status_code)
    assert statuses == [200, 401]


FATAL = [
    (
        "total_requests@salesforce",
        "salesforce",
        ["stream account", "HTTP 403", "TotalRequests Limit exceeded"],
    ),
    ("server_error@netsuite:every=1", "netsuite", ["stream currency", "gave up after", "HTTP 503"]),
    ("truncated@ironclad:every=1", "ironclad", ["stream msa", "not valid JSON"]),
    ("truncated@salesforce:every=1", "salesforce", ["stream account", "not valid JSON"]),
    ("rate_limit@ironclad:every=1,seconds=1000", "ironclad", ["stream msa", "HTTP 429", "too long"]),
    (  # a key column the org lacks cannot be dropped: the message says what to check and what it has
        "drift@salesforce:field=Id,to=Id__c,stream=Account",
        "salesforce",
        ["stream account", "required column 'Id'", "sources.salesforce.objects.account", "Id__c"],
    ),
]


@pytest.mark.parametrize(("spec", "vendor", "words"), FATAL)
def test_fatal_fault_names_source_stream_and_vendor_message(exports, spec, vendor, words):
    res, _, _ = run_with(exports, vendor, spec)
    assert res.status == "failed"
    first = res.errors[0]
    assert first.startswith(f"source {vendor}, ")
    for word in words:
        assert word in first, first
    assert "Bearer" not in first and "secret" not in first.lower() and "SELECT" not in first


def test_total_requests_stops_the_source_without_spinning(exports):
    res, _, counts = run_with(exports, "salesforce", "total_requests@salesforce")
    assert counts[("salesforce", 403)] == 1  # tripped once; the other streams fail without a call
    assert len(res.errors) == len(res.streams) == 3


def test_ironclad_property_drift_is_data_not_an_error(exports):
    res, con, _ = run_with(exports, "ironclad", "drift@ironclad:field=correlationId,to=correlation_id")
    assert res.status == "ok"
    props = [json.loads(p) for (p,) in con.execute("SELECT properties FROM raw.ironclad__sow").fetchall()]
    assert all("correlationId" not in p for p in props) and any("correlation_id" in p for p in props)


def test_salesforce_field_the_org_lacks_is_dropped_and_null(exports):
    # INVALID_FIELD on an optional field: the query is re-sent without it, the column stays NULL
    res, con, counts = run_with(
        exports, "salesforce", "drift@salesforce:field=Name,to=Account_Name__c,stream=Account"
    )
    assert res.status == "ok", res.errors
    account = next(s for s in res.streams if s.stream == "account")
    assert account.status == "ok" and account.missing_fields == ["Name"] and account.rows > 0
    assert con.execute('SELECT count("Name"), count("Id") FROM raw.salesforce__account').fetchone() == (
        0,
        account.rows,
    )
    assert counts[("salesforce", 400)] == 1  # one refusal, one retry


def test_netsuite_dropped_field_is_reported_missing(exports):
    res, _, _ = run_with(exports, "netsuite", "drift@netsuite:field=companyname,stream=customer")
    assert res.status == "ok"
    customer = next(s for s in res.streams if s.stream == "customer")
    assert "companyname" in customer.missing_fields and customer.rows == 3


def test_bad_fault_specs_are_refused():
    from closedloop.sandbox import FaultError

    for spec in ("nope", "total_requests@ironclad", "drift", "slow:every=x", "slow:bogus=1"):
        with pytest.raises(FaultError):
            parse_fault(spec)
