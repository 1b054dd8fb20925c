"""The 'sap' estate (tier s) collected from its exported files and over OData v2 lands identical raw tables."""

from __future__ import annotations

from closedloop.demo import generate_firm
from closedloop.demo.exports import render_exports
from closedloop.demo.profiles import profile
from closedloop.sandbox import Sandbox
from collectors.sap_s4 import files_collector as sap_files
from tests.sandbox.helpers import api_collector, collect, connect, raw_rows


def test_the_sap_estate_files_and_http_give_identical_raw_tables(tmp_path):
    prof = profile("sap")
    sections = prof.config_sections()
    own = sections["sap_s4"]  # the tenant's own names, as its customer configures them
    render_exports(generate_firm("s", seed=1), tmp_path, sections, systems=prof.systems)
    via_api, via_files = connect(), connect()
    with Sandbox(tmp_path) as sb:
        got = collect(via_api, api_collector(sb, "sap_s4", **own))
        pages = sb.state.counts[("sap_s4", 200)]
    want = collect(via_files, sap_files({"kind": "sap_s4", "path": str(tmp_path / "sap_s4"), **own}))
    assert got.status == want.status == "ok", (got.errors, want.errors)
    assert [(s.stream, s.rows) for s in got.streams] == [(s.stream, s.rows) for s in want.streams]
    assert all(s.rows for s in got.streams), [(s.stream, s.rows) for s in got.streams]
    assert pages > len(got.streams)  # the bulk entity sets came in several server-driven pages
    for st in got.streams:
        assert raw_rows(via_api, st.table) == raw_rows(via_files, st.table), st.table
    # the estate's own names landed: a renamed extension field, and a view in a service of its own naming
    assert via_api.execute('SELECT count("YY1_SOWNumber") FROM raw.sap_s4__project').fetchone()[0] > 0
    assert via_api.execute("SELECT count(*) FROM raw.sap_s4__write_down").fetchone()[0] > 0
