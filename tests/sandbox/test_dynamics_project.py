"""Dynamics 365 Project Operations over the sandbox's Dataverse Web API: Entra ID token, OData paging, faults."""

from __future__ import annotations

import httpx
import pytest

from closedloop.canonical import mapping_sql
from closedloop.demo.exports import render_exports
from closedloop.pipeline import CANON_DIR, run_sql_file
from closedloop.sandbox import PageCaps, Sandbox
from closedloop.sandbox.faults import parse_fault
from collectors.dynamics_project import MAPPING, generated_mapping
from tests.collectors import firm_fixture
from tests.sandbox.helpers import api_collector, collect, connect, files_collector, raw_rows

KIND = "dynamics_project"
SYSTEMS = ("salesforce", "ironclad", KIND)
SOME = {"account", "msdyn_project", "msdyn_timeentry", "invoice", "transactioncurrency"}


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    root = tmp_path_factory.mktemp("dynamics-project")
    render_exports(firm_fixture.build(), root, systems=SYSTEMS)
    return root


def _run(estate, *specs, only=SOME, **overrides):
    with Sandbox(estate, faults=[parse_fault(s) for s in specs], caps=PageCaps()) as sb:
        con = connect()
        collector = api_collector(sb, KIND, page_size=2, **overrides)
        res = collect(con, collector, only)
        return res, con, sb, collector


def test_the_mapping_file_is_the_one_the_entities_declare():
    assert MAPPING.read_text(encoding="utf-8") == generated_mapping()


def test_api_and_files_land_identical_raw_and_canon_tables(estate):
    res, via_api, sb, _ = _run(estate, only=None)
    via_files = connect()
    want = collect(via_files, files_collector(estate, KIND))
    assert res.status == "ok", res.errors
    assert [(s.stream, s.rows) for s in res.streams] == [(s.stream, s.rows) for s in want.streams]
    assert sum(s.rows for s in res.streams) > 20
    for st in res.streams:
        assert raw_rows(via_api, st.table) == raw_rows(via_files, st.table), st.table
    pages = sum(max(1, -(-s.rows // 2)) for s in res.streams)  # two rows a page, followed to the last
    assert sb.state.counts[(KIND, 200)] == pages + 1  # and one token
    for con in (via_api, via_files):
        run_sql_file(con, CANON_DIR / "schema.sql")
        run_sql_file(con, *mapping_sql(KIND, {"kind": KIND}))
    for table in ("project", "time_entry", "invoice", "invoice_line", "client", "billing_schedule"):
        rows = via_api.execute(f"SELECT * EXCLUDE (snapshot_ts) FROM canon.{table} ORDER BY ALL").fetchall()
        assert (
            rows
            == via_files.execute(f"SELECT * EXCLUDE (snapshot_ts) FROM canon.{table} ORDER BY ALL").fetchall()
        )
        assert rows, table
    # lookups resolved to business keys: every time entry names a project the ERP holds
    orphans = via_api.execute(
        "SELECT count(*) FROM canon.time_entry t LEFT JOIN canon.project p USING (project_id)"
        " WHERE p.project_id IS NULL"
    ).fetchone()[0]
    assert orphans == 0


def test_pages_follow_next_link_with_the_same_prefer_header(estate):
    with Sandbox(estate) as sb:
        env = sb.secrets()
        cfg = sb.source_config()[KIND]
        secret = env[f"CLOSEDLOOP_{KIND.upper()}_CLIENT_SECRET"]
        token_url = cfg["token_url"].replace("{tenant}", cfg["tenant_id"])
        form = {"grant_type": "client_credentials", "client_id": cfg["client_id"], "client_secret": secret}
        tok = httpx.post(token_url, data=form | {"scope": cfg["org_url"] + "/.default"}).json()
        assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3599
        bad = httpx.post(
            token_url, data=form | {"client_secret": "nope", "scope": cfg["org_url"] + "/.default"}
        )
        assert bad.status_code == 401 and bad.json()["error_description"].startswith("AADSTS7000215")
        headers = {"Authorization": f"Bearer {tok['access_token']}", "Prefer": "odata.maxpagesize=1"}
        first = httpx.get(cfg["org_url"] + "/api/data/v9.2/msdyn_projects", headers=headers).json()
        assert len(first["value"]) == 1 and "statuscode" in first["value"][0]
        assert not any("@OData.Community" in k for k in first["value"][0])  # labels only when asked
        labelled = headers | {"Prefer": 'odata.maxpagesize=1,odata.include-annotations="*"'}
        second = httpx.get(first["@odata.nextLink"], headers=labelled).json()
        assert second["value"][0] != first["value"][0]
        assert "statuscode@OData.Community.Display.V1.FormattedValue" in second["value"][0]
        missing = httpx.get(cfg["org_url"] + "/api/data/v9.2/msdyn_nothings", headers=headers)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80060888"


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        ("rate_limit@dynamics_project:every=3,seconds=0.01", 429),
        ("server_error@dynamics_project:first=3", 503),
        ("token_expiry@dynamics_project:every=4", 401),
        ("truncated@dynamics_project:every=5", 200),
        ("slow@dynamics_project:every=2,seconds=0.005", 200),
        ("duplicates@dynamics_project", 200),
    ],
)
def test_retryable_faults_complete_with_every_row(estate, spec, status):
    clean, clean_con, _, _ = _run(estate)
    res, con, sb, collector = _run(estate, spec)
    assert res.status == "ok", res.errors
    assert sb.state.counts[(KIND, status)] >= 1, dict(sb.state.counts)
    assert [(s.stream, s.rows) for s in res.streams] == [(s.stream, s.rows) for s in clean.streams]
    for st in res.streams:
        assert raw_rows(con, st.table) == raw_rows(clean_con, st.table)
    if spec.startswith("token_expiry"):
        assert collector.auth.tokens_minted >= 2  # minted again after the 401, once per expiry
    if spec.startswith("duplicates"):  # the repeated row was really sent, and dropped by the runner
        assert sum(s.duplicates for s in res.streams) > 0


def test_service_protection_429_carries_the_dataverse_code_and_retry_after(estate):
    with Sandbox(estate, faults=[parse_fault("rate_limit@dynamics_project:first=1,seconds=2")]) as sb:
        cfg, env = sb.source_config()[KIND], sb.secrets()
        form = {
            "grant_type": "client_credentials",
            "client_id": cfg["client_id"],
            "client_secret": env[f"CLOSEDLOOP_{KIND.upper()}_CLIENT_SECRET"],
            "scope": cfg["org_url"] + "/.default",
        }
        tok = httpx.post(cfg["token_url"].replace("{tenant}", cfg["tenant_id"]), data=form).json()[
            "access_token"
        ]
        r = httpx.get(cfg["org_url"] + "/api/data/v9.2/accounts", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.json()["error"]["code"] == "0x80072322"


def test_a_truncated_body_every_time_fails_clearly(estate):
    res, *_ = _run(estate, "truncated@dynamics_project:every=1", only={"account"})
    assert res.status == "failed"
    assert "not valid JSON" in res.errors[0] and "accounts" in res.errors[0]


def test_wrong_secret_fails_with_the_aadsts_words_and_no_secret(estate):
    with Sandbox(estate) as sb:
        from collectors.dynamics_project import api_collector as make

        cfg = {"kind": KIND, **sb.source_config()[KIND]}
        res = collect(connect(), make(cfg, lambda n: "wrong-secret-123" if n == "client_secret" else None))
    assert res.status == "failed"
    assert "AADSTS7000215" in res.errors[0] and "wrong-secret-123" not in " ".join(res.errors)


def test_echoed_credentials_never_reach_the_error(estate):
    res, _con, sb, _ = _run(estate, "echo_credentials@dynamics_project:first=1", only={"account"})
    assert res.status == "failed"
    text = " ".join(res.errors)
    assert not [t for t in sb.state.tokens.issued if t in text]
    assert sb.state.credentials.client(KIND)[1] not in text


def test_a_table_the_environment_lacks_is_absent_and_a_dropped_column_null(estate, tmp_path):
    import shutil

    root = tmp_path / "lean"
    shutil.copytree(estate, root)
    (root / KIND / "cl_disputes.jsonl").unlink()
    res, con, *_ = _run(
        root, "drift@dynamics_project:field=cl_region,stream=accounts", only={"cl_dispute", "account"}
    )
    assert res.status == "ok", res.errors
    by = {s.stream: s for s in res.streams}
    assert by["cl_dispute"].status == "absent" and "cl_disputes" in (by["cl_dispute"].absent_reason or "")
    assert (
        con.execute(f"SELECT count(*) FROM {by['account'].table} WHERE cl_region IS NOT NULL").fetchone()[0]
        == 0
    )


def _discover(sb: Sandbox, **overrides):
    from closedloop import discover as disc
    from closedloop import settings as cfgmod

    raw = {**sb.source_config()[KIND], **overrides}
    cfg = cfgmod.parse({"sources": {KIND: raw}}, None).sources[KIND]
    env = sb.secrets()
    report = disc.run(KIND, cfg, lambda n: env.get(f"CLOSEDLOOP_{KIND.upper()}_{n.upper()}"))
    return report, cfg, disc


def test_discover_finds_the_default_environment_and_drafts_a_config_that_parses(estate):
    import tomllib

    with Sandbox(estate) as sb:
        report, cfg, disc = _discover(sb)
    statuses = {(s, f.wanted.column): f.status for s, fs in report.findings.items() for f in fs}
    assert list(statuses.values()).count("found") > 100  # columns the small firm leaves empty are not seen
    assert (
        statuses[("msdyn_project", "msdyn_billingtype@OData.Community.Display.V1.FormattedValue")] == "found"
    )
    assert statuses[("msdyn_timeentry", "_msdyn_project_value")] == "found"
    assert "proposed" not in statuses.values() and report.settings == {}
    assert tomllib.loads(disc.draft(report, cfg))  # the draft is TOML


def test_discover_proposes_the_environments_own_correlation_column(estate, tmp_path):
    import shutil

    root = tmp_path / "renamed"
    shutil.copytree(estate, root)
    for path in (root / KIND).glob("*.jsonl"):
        path.write_text(path.read_text().replace('"cl_correlationid"', '"cl_engagementkey"'))
    with Sandbox(root) as sb:
        report, *_ = _discover(sb)
    assert report.settings[("correlation_field",)][0] == "cl_engagementkey"


def test_an_incremental_read_asks_for_rows_modified_after_the_cursor(estate):
    from collectors.base import StreamState

    with Sandbox(estate) as sb:
        collector = api_collector(sb, KIND, page_size=2)
        stream = next(s for s in collector.streams() if s.name == "msdyn_timeentry")
        state = StreamState()
        full = [r for b in collector.read(stream, state) for r in b.records]
        assert state.cursor == max(r["modifiedon"] for r in full)  # the newest modifiedon, as sent
        stamps = sorted({r["modifiedon"] for r in full})
        assert len(stamps) > 1
        newer = [r for b in collector.read(stream, StreamState(cursor=stamps[0])) for r in b.records]
    assert newer and len(newer) < len(full)
    assert all(r["modifiedon"] > stamps[0] for r in newer)


def test_the_bench_loop_reads_what_the_collector_reads(estate):
    from closedloop.sandbox import dynamics_project

    with Sandbox(estate) as sb:
        res = collect(connect(), api_collector(sb, KIND))
        with httpx.Client() as client:
            assert dynamics_project.bare_loop(client, sb.base_url, sb.state.credentials) == sum(
                s.rows for s in res.streams
            )
