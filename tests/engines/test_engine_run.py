"""`closedloop run` with [engine] kind = "postgres": the checks and KPIs run on PostgreSQL, the run publishes like
a DuckDB one and matches the answer key; an unreachable engine is exit 2 with nothing published; the firm's own
canonical schema is read as it is (canonical = "existing"), a rule the engine refuses is an errored check, and the
model is built there from the raw tables (canonical = "build")."""

from __future__ import annotations

import json
from types import SimpleNamespace

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from checks.remote import Remote
from closedloop.cli import app
from closedloop.demo import generate_firm, write_demo
from closedloop.demo.config import write_demo_config
from closedloop.demo.profiles import DEFAULT
from closedloop.engines import open_engine
from closedloop.engines.postgres import libpq_url
from closedloop.warehouse import Warehouse
from tests.demo.test_profiles import _judge
from tests.engines.equality import canon_differences


@pytest.fixture(scope="module")
def firm():
    return generate_firm("s", seed=1)


@pytest.fixture(scope="module")
def demo(firm, tmp_path_factory):
    return write_demo(firm, tmp_path_factory.mktemp("engine-demo"))


def _run(demo, firm, tmp_path, engine: str, *, publish_partial: bool = False):
    """A copy of the demo's config with its own data directory and the given [engine] lines."""
    extra = f"\n[engine]\n{engine}\n"
    if publish_partial:
        extra += "\n[warehouse]\npublish_partial = true\n"
    path = write_demo_config(demo, firm.params["as_of"], extra=extra, name=f"engine-{tmp_path.name}.toml")
    text = path.read_text().replace('data_dir = "."', f'data_dir = "{tmp_path}"')
    path.write_text(text)
    result = CliRunner().invoke(app, ["run", "--config", str(path), "--json"])
    return result, path


def test_a_run_on_postgres_publishes_the_answer_key(pg, demo, firm, tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSEDLOOP_ENGINE_PASSWORD", pg.password)
    result, _ = _run(demo, firm, tmp_path, f'kind = "postgres"\nurl = "{pg.url}"\nwork_schema = "cl_work"')
    assert result.exit_code == 0, result.output
    assert pg.password not in result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "ok" and doc["published"]
    moved = doc["engine"]["movement"]
    assert doc["engine"]["kind"] == "postgres" and moved["rows_out"] > 10_000 and moved["rows_back"] > 100
    con = duckdb.connect(doc["warehouse_file"], read_only=True)
    _judge(con, SimpleNamespace(run_id=doc["run_id"]), DEFAULT, firm)  # exact, to the cent
    assert Warehouse.at(tmp_path).published()["run_id"] == doc["run_id"]
    with psycopg.connect(libpq_url(pg.url), password=pg.password) as pgc:
        tables = {r[0] for r in pgc.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'cl_work'")}
    assert {"results_finding", "results_monitor"} <= tables  # the run wrote only its work schema


def test_an_unreachable_engine_is_exit_2_naming_the_url_and_nothing_is_published(
    demo, firm, tmp_path, monkeypatch
):
    monkeypatch.setenv("CLOSEDLOOP_ENGINE_PASSWORD", "pw-never-shown")
    url = "postgresql+psycopg://closedloop:inline-secret@127.0.0.1:1/warehouse"
    result, _ = _run(demo, firm, tmp_path, f'kind = "postgres"\nurl = "{url}"')
    assert result.exit_code == 2, result.output
    assert "127.0.0.1:1/warehouse" in result.output and "closedloop:***@" in result.output
    assert "inline-secret" not in result.output and "pw-never-shown" not in result.output
    assert Warehouse.at(tmp_path).published() is None


def test_the_firms_own_canonical_schema_is_read_and_a_rule_it_refuses_is_an_errored_check(
    pg, demo, firm, tmp_path, monkeypatch
):
    monkeypatch.setenv("CLOSEDLOOP_ENGINE_PASSWORD", pg.password)
    # the firm's schema, as its own pipeline keeps it: here, filled once by a copy run
    (tmp_path / "copy").mkdir()
    filled, _ = _run(
        demo, firm, tmp_path / "copy", f'kind = "postgres"\nurl = "{pg.url}"\ncanonical_schema = "firm_canon"'
    )
    assert filled.exit_code == 0, filled.output
    own = f'kind = "postgres"\nurl = "{pg.url}"\ncanonical = "existing"\ncanonical_schema = "firm_canon"'
    (tmp_path / "own").mkdir()
    result, _ = _run(demo, firm, tmp_path / "own", own)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["engine"]["canonical"] == "existing"
    # sent: the monitors' verdicts and the findings the KPIs read, no canonical table
    assert doc["engine"]["movement"]["tables"] == 3
    assert json.loads(filled.stdout)["engine"]["movement"]["tables"] > 30
    con = duckdb.connect(doc["warehouse_file"], read_only=True)
    _judge(con, SimpleNamespace(run_id=doc["run_id"]), DEFAULT, firm)

    with psycopg.connect(libpq_url(pg.url), password=pg.password, autocommit=True) as pgc:
        pgc.execute("DROP TABLE firm_canon.dispute")  # the firm's schema lacks a table one rule reads
    (tmp_path / "refused").mkdir()
    result, _ = _run(demo, firm, tmp_path / "refused", own)
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "partial" and not doc["published"]
    errored = doc["checks"]["errors"]
    assert doc["checks"]["error"] == 1 and len(errored) == 1, errored
    (error,) = errored.values()
    assert error.startswith("on postgres:") and 'relation "firm_canon.dispute" does not exist' in error
    assert pg.password not in result.output


def test_a_run_that_builds_the_canonical_model_on_postgres_publishes_the_answer_key(
    pg, demo, firm, tmp_path, monkeypatch
):
    """canonical = "build": the raw tables go over, the same mapping SQL builds the model there, row for row the
    run's own, and the rules read it."""
    monkeypatch.setenv("CLOSEDLOOP_ENGINE_PASSWORD", pg.password)
    engine = f'kind = "postgres"\nurl = "{pg.url}"\ncanonical = "build"\ncanonical_schema = "built_canon"\n'
    result, _ = _run(demo, firm, tmp_path, engine + 'work_schema = "build_work"')
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "ok" and doc["published"] and doc["engine"]["canonical"] == "build"
    con = duckdb.connect(doc["warehouse_file"], read_only=True)
    _judge(con, SimpleNamespace(run_id=doc["run_id"]), DEFAULT, firm)  # exact, to the cent
    raw = {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()
    }
    with psycopg.connect(libpq_url(pg.url), password=pg.password) as pgc:
        work = {r[0] for r in pgc.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'build_work'")}
    assert {"raw_" + t for t in raw} <= work and {"results_finding", "results_monitor"} <= work
    remote = Remote(open_engine("postgres", pg.url, pg.password), canonical_schema="built_canon")
    try:
        assert not canon_differences(con, remote)  # every canonical table, every row
    finally:
        remote.engine.close()
