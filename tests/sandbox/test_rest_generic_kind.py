"""The `rest_generic` kind: an undocumented API connected by configuration alone (here the sandbox's Icertis-like
tenant, as a firm would point it at any system), parsed as closedloop.toml would be and collected over HTTP."""

from __future__ import annotations

import pytest

from closedloop import settings as cfgmod
from closedloop.demo.exports import render_exports
from closedloop.sandbox import Sandbox
from collectors import rest_generic
from tests.collectors import firm_fixture
from tests.sandbox.helpers import collect, connect


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("generic-exports")
    render_exports(firm_fixture.build(), root, systems=("salesforce", "icertis", "netsuite"))
    return root


def section(sb: Sandbox, **extra) -> dict:
    host = f"{sb.base_url}/icertis"
    raw = {
        "kind": "rest_generic",
        "transport": "api",
        "base_url": host,
        "auth": "client_credentials",
        "token_url": f"{host}/oauth2/v2.0/token",
        "client_id": sb.state.credentials.client("icertis")[0],
        "paging": "offset",
        "page_size": 1,
        "limit_param": "top",
        "offset_param": "skip",
        "record_path": "Data",
        "total_path": "TotalCount",
        "streams": {"deals": "/api/v1/agreements/ICMSOW", "gone": "/api/v1/agreements/NoSuchType"},
        "columns": {"deals": ["SysId", "AgreementCode", "ContractValue"], "gone": ["SysId"]},
        "primary_keys": {"deals": "SysId"},
        **extra,
    }
    return cfgmod.parse({"sources": {"crm_export": raw}}, None).sources["crm_export"]


def test_configured_streams_are_collected_and_a_missing_listing_is_absent(exports):
    with Sandbox(exports) as sb:
        cfg = section(sb)
        secret = sb.state.credentials.client("icertis")[1]
        res = collect(connect(), rest_generic.api_collector(cfg, {"client_secret": secret}))
    statuses = {s.stream: s.status for s in res.streams}
    assert statuses == {"deals": "ok", "gone": "absent"}, res.errors
    want = len((exports / "icertis" / "ICMSOW.csv").read_text().splitlines()) - 1
    assert next(s for s in res.streams if s.stream == "deals").rows == want > 1


def test_a_stream_without_columns_is_refused_naming_the_key(exports):
    with Sandbox(exports) as sb, pytest.raises(cfgmod.ConfigError, match=r"columns\.deals"):
        section(sb, columns={"gone": ["SysId"]})
