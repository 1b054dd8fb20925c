"""SAP S/4HANA Cloud over OData v2 against the sandbox on 127.0.0.1: paging, auth, faults, tolerance, files = HTTP."""

from __future__ import annotations

import logging

import httpx
import pytest

from closedloop.demo.render import sap_s4 as render
from closedloop.sandbox import PageCaps, Sandbox, parse_fault
from closedloop.sandbox.sap_s4 import communication_user
from collectors.base import StreamState
from collectors.sap_s4 import files_collector
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_collector, collect, connect, raw_rows

VENDOR = "sap_s4"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The fixture firm as its S/4HANA tenant holds it (exports/sap_s4/<SERVICE>/<EntitySet>.jsonl)."""
    root = tmp_path_factory.mktemp("sap-exports")
    render.render(firm_fixture.build(), root / VENDOR, {}, {})
    return root


def sandbox(exports, *specs: str, page: int = 1) -> Sandbox:
    """A sandbox whose S/4HANA pages hold `page` records: every entity set with more than one record pages."""
    caps = PageCaps()
    caps.sap_s4 = page  # type: ignore[attr-defined]  # read by closedloop/sandbox/sap_s4.py
    return Sandbox(exports, faults=[parse_fault(s) for s in specs], caps=caps)


def files_rows(exports, only=None):
    con = connect()
    res = collect(con, files_collector({"kind": VENDOR, "path": str(exports / VENDOR)}), only)
    assert res.status == "ok", res.errors
    return con, res


def assert_same_as_files(exports, con, res, only=None) -> None:
    assert res.status == "ok", res.errors
    want, _ = files_rows(exports, only)
    for st in res.streams:
        assert raw_rows(con, st.table) == raw_rows(want, st.table), st.table


def test_every_entity_set_paged_to_the_end_equals_the_file_exports(exports):
    with sandbox(exports) as sb:
        con = connect()
        res = collect(con, api_collector(sb, VENDOR))
        pages = sb.state.counts[(VENDOR, 200)]
    assert_same_as_files(exports, con, res)
    rows = {s.stream: s.rows for s in res.streams}
    assert rows["billing_document"] == 3 and rows["customer"] == 3 and rows["timesheet"] == 2
    assert pages >= sum(rows.values())  # one record a page: it followed __next to the end
    # v2 values landed typed: /Date(ms)/ as a date, a decimal string as DECIMAL, the SAP codes as sent
    doc = con.execute(
        'SELECT "BillingDocumentDate", "TotalGrossAmount", "BillingDocumentType" FROM raw.sap_s4__billing_document'
        ' ORDER BY "BillingDocument" LIMIT 1'
    ).fetchone()
    assert type(doc[0]).__name__ == "date" and str(doc[1]).count(".") == 1 and doc[2] in ("F2", "G2")


def test_the_envelope_is_odata_v2(exports):
    """What a client sees: d.results, __count as a string, __next with $skiptoken, /Date()/ and decimal strings."""
    with sandbox(exports) as sb:
        url = f"{sb.base_url}/{VENDOR}/sap/opu/odata/sap/API_BILLING_DOCUMENT_SRV/A_BillingDocument"
        r = httpx.get(
            url,
            params={"$format": "json", "$inlinecount": "allpages"},
            auth=communication_user(sb.state.credentials),
        )
    d = r.json()["d"]
    assert d["__count"] == "3" and "$skiptoken=1" in d["__next"]
    rec = d["results"][0]
    assert rec["__metadata"]["type"] == "API_BILLING_DOCUMENT_SRV.A_BillingDocumentType"
    assert rec["BillingDocumentDate"].startswith("/Date(") and isinstance(rec["TotalNetAmount"], str)


def test_basic_auth_over_a_communication_user(exports):
    with sandbox(exports) as sb:
        con = connect()
        res = collect(con, api_collector(sb, VENDOR, auth="basic"), {"customer", "project"})
        assert not sb.state.tokens.issued  # no token endpoint involved
    assert_same_as_files(exports, con, res, {"customer", "project"})


def test_a_wrong_password_is_refused_with_the_vendor_words_and_no_secret(exports):
    with sandbox(exports) as sb:
        from collectors.sap_s4 import api_collector as make

        cfg = {"kind": VENDOR, **sb.source_config()[VENDOR], "auth": "basic"}
        res = collect(
            connect(), make(cfg, lambda n: "not-the-password" if n == "password" else None), {"customer"}
        )
    assert res.status == "failed"
    err = res.errors[0]
    assert "401" in err and "Invalid or expired access token" in err and "not-the-password" not in err


def test_token_fetched_once_and_refreshed_once_on_expiry(exports):
    with sandbox(exports, "token_expiry@sap_s4:every=3") as sb:
        con = connect()
        res = collect(con, api_collector(sb, VENDOR), {"customer", "billing_document", "payment"})
        assert sb.state.counts[(VENDOR, 401)] >= 1
        minted = len(sb.state.tokens.issued)
    assert_same_as_files(exports, con, res, {"customer", "billing_document", "payment"})
    assert 2 <= minted <= 1 + sb.state.counts[(VENDOR, 401)]  # one new token per expiry, no more


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        ("rate_limit@sap_s4:every=2,seconds=0.001", 429),
        ("server_error@sap_s4:first=3", 503),
        ("server_error@sap_s4:every=4,status=500", 500),
        ("slow@sap_s4:every=2,seconds=0.005", 200),
        ("truncated@sap_s4:every=4", 200),
    ],
)
def test_retryable_faults_complete(exports, spec, status):
    with sandbox(exports, spec) as sb:
        con = connect()
        res = collect(con, api_collector(sb, VENDOR), {"customer", "billing_document", "timesheet"})
        assert sb.state.counts[(VENDOR, status)] >= 1, dict(sb.state.counts)
    assert_same_as_files(exports, con, res, {"customer", "billing_document", "timesheet"})


def test_retry_after_is_honoured(exports):
    """The 429's Retry-After (seconds) is what the client waits before asking again."""
    from collectors.http.client import RetryPolicy
    from collectors.sap_s4 import streams
    from collectors.sap_s4.api import SapS4API

    waits: list[float] = []
    with sandbox(exports, "rate_limit@sap_s4:first=1,seconds=2") as sb:
        env = sb.secrets()
        cfg = {"kind": VENDOR, **sb.source_config()[VENDOR]}
        api = SapS4API(
            cfg,
            lambda n: env.get(f"CLOSEDLOOP_SAP_S4_{n.upper()}"),
            streams(cfg),
            policy=RetryPolicy(sleep=waits.append),
        )
        res = collect(connect(), api, {"customer"})
    assert res.status == "ok", res.errors
    assert waits and max(waits) >= 2.0


def test_a_body_truncated_every_time_fails_with_a_clear_error(exports):
    with sandbox(exports, "truncated@sap_s4:every=1") as sb:
        res = collect(connect(), api_collector(sb, VENDOR), {"customer"})
    assert res.status == "failed"
    assert "not valid JSON" in res.errors[0] and "A_Customer" in res.errors[0]


def test_a_repeated_page_is_detected(exports):
    with sandbox(exports, "duplicates@sap_s4:stream=A_Customer") as sb:
        res = collect(connect(), api_collector(sb, VENDOR), {"customer"})
    assert res.status == "failed"
    assert "repeats 1 record(s) of the previous page" in res.errors[0], res.errors


def test_a_dropped_field_lands_null_and_is_reported_missing(exports):
    with sandbox(exports, "drift@sap_s4:field=YY1_Region,stream=A_Customer") as sb:
        con = connect()
        res = collect(con, api_collector(sb, VENDOR), {"customer"})
        assert sb.state.counts[(VENDOR, 400)] == 1  # $select refused once, then asked without it
    assert res.status == "ok", res.errors
    (st,) = res.streams
    assert st.missing_fields == ["YY1_Region"] and "YY1_Region" in st.absent_fields
    assert con.execute('SELECT count("YY1_Region"), count(*) FROM raw.sap_s4__customer').fetchone() == (0, 3)


def test_an_entity_set_the_tenant_does_not_expose_is_absent(exports):
    with sandbox(exports) as sb:
        res = collect(
            connect(),
            api_collector(sb, VENDOR, entity_sets={"dispute": "YY1_NOSUCH_CDS/YY1_NoSuch"}),
            {"dispute", "customer"},
        )
    assert res.status == "ok", res.errors
    statuses = {s.stream: s.status for s in res.streams}
    assert statuses == {"dispute": "absent", "customer": "ok"}


def test_the_vendor_error_body_is_in_the_message_and_credentials_are_not(exports, caplog):
    caplog.set_level(logging.DEBUG)
    with sandbox(exports, "echo_credentials@sap_s4:first=1") as sb:
        res = collect(connect(), api_collector(sb, VENDOR), {"customer"})
        tokens = list(sb.state.tokens.issued)
        secret = sb.secrets()["CLOSEDLOOP_SAP_S4_CLIENT_SECRET"]
    assert res.status == "failed"
    err = res.errors[0]
    assert "INVALID_REQUEST" in err and "Malformed request" in err  # the v2 body's code and message value
    text = err + caplog.text
    assert tokens and not any(t in text for t in tokens) and secret not in text


def test_incremental_read_asks_only_for_changes_since_the_cursor(exports):
    with sandbox(exports) as sb:
        api = api_collector(sb, VENDOR)
        (stream,) = [s for s in api.streams() if s.name == "billing_document"]
        state = StreamState()
        first = [r for b in api.read(stream, state) for r in b.records]
        assert state.cursor and len(first) == 3
        again = [r for b in api.read(stream, StreamState(cursor=state.cursor)) for r in b.records]
    newest = max(first, key=lambda r: r["LastChangeDateTime"])["LastChangeDateTime"]
    assert all(r["LastChangeDateTime"] > newest[:19] for r in again)
    assert len(again) < len(first)


def test_exports_are_paged_from_their_lines_without_loading_them_whole(tmp_path):
    from closedloop.sandbox.sap_s4 import Lines

    path = tmp_path / "A_Set.jsonl"
    path.write_text('{"K":"1"}\n\n{"K":"2"}\n{"K":"3"}')  # a blank line, no newline at the end
    lines = Lines(path)
    assert len(lines) == 3 and lines[1:] == [{"K": "2"}, {"K": "3"}] and lines[-1] == {"K": "3"}
    (tmp_path / "empty.jsonl").write_text("")
    assert len(Lines(tmp_path / "empty.jsonl")) == 0


def test_a_service_the_communication_arrangement_does_not_grant_is_absent_and_says_what_to_grant(exports):
    with sandbox(exports, "permission_denied@sap_s4:stream=YY1_DisputeCase") as sb:
        res = collect(connect(), api_collector(sb, VENDOR), {"dispute", "customer"})
    assert res.status == "ok", res.errors
    (dispute,) = [s for s in res.streams if s.stream == "dispute"]
    assert dispute.status == "absent"
    assert (
        "No authorization" in dispute.absent_reason and "grant YY1_DISPUTECASE_CDS" in dispute.absent_reason
    )
