"""Oracle Fusion REST against the sandbox on 127.0.0.1: paging, both auth flows, faults, and files = HTTP."""

from __future__ import annotations

import logging

import pytest

from closedloop.demo.render import oracle_fusion as render
from closedloop.sandbox import Credentials, Sandbox
from closedloop.sandbox.faults import parse_fault
from collectors.oracle_fusion.streams import SPECS
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_collector, collect, connect, files_collector, raw_rows

VENDOR = "oracle_fusion"
STREAMS = ("projects", "projectTasks", "receivablesInvoices", "receivablesInvoiceLines", "expenditureItems")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle-exports")
    counts = render.render(firm_fixture.build(), root / VENDOR, {}, {})
    assert counts["projects"] >= 2 and counts["receivablesInvoiceLines"] >= 2  # several pages at limit 1
    return root


def _run(sandbox, only=STREAMS, **cfg):
    con = connect()
    result = collect(con, api_collector(sandbox, VENDOR, page_size=1, **cfg), set(only))
    return con, result


def test_basic_auth_pages_to_the_end_and_equals_the_files(exports):
    with Sandbox(exports) as sb:
        con, result = _run(sb, only=tuple(SPECS), auth="basic")
        pages = sb.state.counts[(VENDOR, 200)]
    assert result.status == "ok", result.errors
    files = connect()
    assert collect(files, files_collector(exports, VENDOR), set(SPECS)).status == "ok"
    for stream in SPECS:  # every resource and child resource: identical raw tables either way
        table = f"raw.{VENDOR}__{stream}"
        assert raw_rows(con, table) == raw_rows(files, table), stream
    for stream in STREAMS:
        table = f"raw.{VENDOR}__{stream}"
        assert raw_rows(con, table) == raw_rows(files, table), stream
        assert raw_rows(con, table), stream
    assert pages > len(STREAMS) * 2  # limit 1: every stream took several pages


def test_client_credentials_token_is_refreshed_once_when_it_expires(exports):
    faults = [parse_fault("token_expiry@oracle_fusion:first=1")]
    with Sandbox(exports, faults=faults) as sb:
        con, result = _run(sb, only=("projects",))
        refused = sb.state.counts[(VENDOR, 401)]
    assert result.status == "ok", result.errors
    assert refused == 1
    assert len(raw_rows(con, f"raw.{VENDOR}__projects")) == len(firm_fixture.build().tables["project"])


@pytest.mark.parametrize(
    "spec", ["rate_limit@oracle_fusion:every=2,seconds=0.01", "server_error@oracle_fusion:first=3,status=503"]
)
def test_429_with_retry_after_and_5xx_bursts_are_retried(exports, spec):
    with Sandbox(exports, faults=[parse_fault(spec)]) as sb:
        _, result = _run(sb, only=("projects",))
        statuses = {s for (v, s) in sb.state.counts if v == VENDOR}
    assert result.status == "ok", result.errors
    assert statuses & {429, 503}


def test_a_truncated_page_every_time_is_a_clear_error(exports):
    with Sandbox(exports, faults=[parse_fault("truncated@oracle_fusion:every=1")]) as sb:
        _, result = _run(sb, only=("projects",))
    assert result.status == "failed"
    assert "not valid JSON" in result.errors[0] and "projects" in result.errors[0]


def test_a_repeated_item_from_shifting_offsets_is_dropped_not_doubled(exports):
    with Sandbox(exports, faults=[parse_fault("duplicates@oracle_fusion:stream=projects")]) as sb:
        con, result = _run(sb, only=("projects",))
    assert result.status == "ok", result.errors
    ids = [r[0] for r in con.execute(f"SELECT ProjectId FROM raw.{VENDOR}__projects").fetchall()]
    assert len(ids) == len(set(ids)) == len(firm_fixture.build().tables["project"])
    assert result.streams[0].duplicates > 0


def test_a_dropped_flexfield_is_refused_by_fields_then_read_as_null(exports):
    fault = parse_fault("drift@oracle_fusion:stream=projects,field=budgetAmount")
    with Sandbox(exports, faults=[fault]) as sb:
        con, result = _run(sb, only=("projects",))
    assert result.status == "ok", result.errors
    assert result.streams[0].missing_fields == ["budgetAmount"]
    assert con.execute(f"SELECT count(budgetAmount) FROM raw.{VENDOR}__projects").fetchone() == (0,)


def test_vendor_error_body_is_in_the_message_and_no_secret_reaches_it(exports, caplog):
    creds = Credentials()
    with Sandbox(exports, credentials=creds, faults=[parse_fault("echo_credentials@oracle_fusion")]) as sb:
        caplog.set_level(logging.DEBUG)
        _, result = _run(sb, only=("projects",))
        issued = list(sb.state.tokens.issued)
    assert result.status == "failed"
    message = result.errors[0]
    assert "INVALID_REQUEST" in message and "HTTP 400" in message
    secret = creds.client(VENDOR)[1]
    for text in (message, caplog.text):
        assert secret not in text
        assert not [t for t in issued if t in text]


def test_an_unknown_resource_is_an_absent_stream_with_the_vendor_words(exports):
    with Sandbox(exports) as sb:
        _, result = _run(sb, only=("disputes",), resources={"receivablesDisputes": "collectionsDisputes"})
    stream = result.streams[0]
    assert result.status == "ok" and stream.status == "absent"
    assert "collectionsDisputes was not found" in (stream.absent_reason or "")


def test_discover_proposes_a_renamed_flexfield_segment(tmp_path):
    """Oracle custom objects carry the firm's XX prefix: its sowId segment is xxSowId."""
    from closedloop import discover

    render.render(firm_fixture.build(), tmp_path / VENDOR, {"flexfields": {"sowId": "xxSowId"}}, {})
    with Sandbox(tmp_path) as sb:
        env = sb.secrets()
        cfg = {"kind": VENDOR, **sb.source_config(bulk_path=tmp_path)[VENDOR]}
        report = discover.run(VENDOR, cfg, lambda n: env.get(f"CLOSEDLOOP_ORACLE_FUSION_{n.upper()}"))
    assert report.settings[("flexfields", "sowId")][0] == "xxSowId"
    assert ("correlation_field",) not in report.settings  # found under its default name: nothing to draft


def test_children_come_the_same_as_arrays_before_framework_version_3(exports):
    with Sandbox(exports) as sb:
        v2, r2 = _run(sb, only=("receivablesInvoiceLines", "projectTasks"), framework_version="2")
        v4, r4 = _run(sb, only=("receivablesInvoiceLines", "projectTasks"))
    assert r2.status == r4.status == "ok", r2.errors + r4.errors
    for stream in ("receivablesInvoiceLines", "projectTasks"):
        table = f"raw.{VENDOR}__{stream}"
        assert raw_rows(v2, table) == raw_rows(v4, table) != []


def test_an_incremental_read_asks_q_lastupdatedate_after_the_cursor(exports):
    from collectors.base import StreamState

    with Sandbox(exports) as sb:
        collector = api_collector(sb, VENDOR, page_size=1)
        stream = next(s for s in collector.streams() if s.name == "projects")
        state = StreamState()
        everything = [r for b in collector.read(stream, state) for r in b.records]
        stamps = sorted(r["LastUpdateDate"] for r in everything)
        assert state.cursor and stamps[-1].startswith(state.cursor[:19])
        again = [r for b in collector.read(stream, StreamState(cursor=stamps[0])) for r in b.records]
    assert 0 < len(again) < len(everything) or len(set(stamps)) == 1
    assert all(r["LastUpdateDate"] > stamps[0] for r in again)


def test_settings_refuse_an_unknown_flexfield_and_a_page_over_500():
    from collectors import oracle_fusion

    with pytest.raises(ValueError, match=r"sources.oracle_fusion.flexfields.sowid.*not a known default"):
        oracle_fusion.check_settings({"flexfields": {"sowid": "x"}}, "sources.oracle_fusion")
    with pytest.raises(ValueError, match=r"page_size.*1\.\.500"):
        oracle_fusion.check_settings({"page_size": 501}, "sources.oracle_fusion")


def test_a_5xx_that_never_ends_gives_up_with_the_status_in_the_message(exports):
    with Sandbox(exports, faults=[parse_fault("server_error@oracle_fusion:every=1,status=503")]) as sb:
        _, result = _run(sb, only=("projects",), retry_max_attempts=3)
        refused = sb.state.counts[(VENDOR, 503)]
    assert result.status == "failed"
    assert refused == 3 and "503" in result.errors[0] and "projects" in result.errors[0]


def test_basic_credentials_echoed_by_a_gateway_reach_no_message(exports, caplog):
    import base64

    creds = Credentials()
    with Sandbox(exports, credentials=creds, faults=[parse_fault("echo_credentials@oracle_fusion")]) as sb:
        caplog.set_level(logging.DEBUG)
        _, result = _run(sb, only=("projects",), auth="basic")
    user_pass = f"closedloop.integration:{creds.client(VENDOR)[1]}"
    encoded = base64.b64encode(user_pass.encode()).decode()
    assert result.status == "failed"
    for text in (result.errors[0], caplog.text):
        assert encoded not in text and creds.client(VENDOR)[1] not in text
