"""Same firm, same tables: collecting through the sandbox over HTTP equals collecting the file exports."""

from __future__ import annotations

import pytest

from closedloop.sandbox import Sandbox
from collectors.netsuite.api import is_bulk
from tests.sandbox.helpers import (
    VENDORS,
    api_collector,
    build_canon,
    canon_rows,
    collect,
    connect,
    files_collector,
    raw_rows,
)


def test_raw_and_canon_match_the_file_exports(sandbox, exports):
    via_api, via_files = connect(), connect()
    for source in ("reference", "middleware"):
        for con in (via_api, via_files):
            assert collect(con, files_collector(exports, source)).status == "ok"
    for vendor in VENDORS:
        extra = {"page_size": 2} if vendor != "salesforce" else {}
        got = collect(via_api, api_collector(sandbox, vendor, **extra))
        want = collect(via_files, files_collector(exports, vendor))
        assert got.status == "ok", got.errors
        assert [(s.stream, s.rows) for s in got.streams] == [(s.stream, s.rows) for s in want.streams]
        for st in got.streams:
            assert raw_rows(via_api, st.table) == raw_rows(via_files, st.table), st.table
    assert sandbox.state.counts[("salesforce", 200)] > 4  # one record a page: it really paged
    build_canon(via_api)
    build_canon(via_files)
    assert canon_rows(via_api) == canon_rows(via_files)


def test_m2m_and_jwt_bearer_signed_and_verified(exports, keypair):
    with Sandbox(exports, credentials=keypair) as sb:
        con = connect()
        assert collect(con, api_collector(sb, "netsuite"), {"customer"}).rows == 3  # m2m: the key pair is set
        sf = api_collector(sb, "salesforce", auth="jwt_bearer", username="integration@closedloop.demo")
        assert collect(con, sf, {"account"}).rows == 2


def test_tba_signature_checked(exports):
    with Sandbox(exports) as sb:  # no key pair: NetSuite is configured for token-based auth
        con = connect()
        assert collect(con, api_collector(sb, "netsuite"), {"customer"}).rows == 3
        bad = dict(sb.secrets(), CLOSEDLOOP_NETSUITE_TOKEN_SECRET="wrong")
        from collectors.netsuite import api_collector as make

        res = collect(
            con,
            make(
                {"kind": "netsuite", **sb.source_config()["netsuite"]},
                lambda n: bad.get(f"CLOSEDLOOP_NETSUITE_{n.upper()}"),
            ),
            {"customer"},
        )
        assert res.status == "failed" and "INVALID_LOGIN" in res.errors[0] and "wrong" not in res.errors[0]


def test_generated_tier_s_matches(tmp_path_factory):
    generate_firm = pytest.importorskip("closedloop.demo").generate_firm
    from closedloop.demo.exports import render_exports

    root = tmp_path_factory.mktemp("tier-s")
    try:
        firm = generate_firm("s", seed=1)
    except Exception as exc:  # the generator is being finished by another engineer
        pytest.skip(f"generate_firm('s') failed: {exc}")
    render_exports(firm, root)
    via_api, via_files = connect(), connect()
    with Sandbox(root) as sb:
        for vendor in VENDORS:
            api = api_collector(sb, vendor)
            names = {s.name for s in api.streams() if not (vendor == "netsuite" and is_bulk(s))}
            got = collect(via_api, api, names)
            collect(via_files, files_collector(root, vendor), names)
            assert got.status == "ok", got.errors
            for st in got.streams:
                assert raw_rows(via_api, st.table) == raw_rows(via_files, st.table), st.table
