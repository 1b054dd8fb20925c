"""`closedloop run` with [engine] kind = "spark" over Spark Connect (sc://, as a Databricks cluster is reached),
against a real Spark Connect server: the run publishes the answer key to the cent, the app shows it like a DuckDB
run (headless Chromium), and an unreachable server is exit 2 naming the URL without its token. Every rule and KPI
equal to DuckDB's on Spark, estate by estate: tests/demo/test_profiles.py."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import duckdb
import pytest
from typer.testing import CliRunner

from closedloop.cli import app
from closedloop.demo import generate_firm, write_demo
from closedloop.demo.config import write_demo_config
from closedloop.demo.profiles import DEFAULT
from closedloop.engines import EngineUnreachable, open_engine
from closedloop.warehouse import Warehouse
from tests.app.test_browser import browser, serving  # noqa: F401 - the browser fixture
from tests.demo.test_profiles import _judge
from tests.engines.spark_connect import connect_server
from tests.engines.test_engine_app_browser import assert_overview_shows_cases

pytest.importorskip("pyspark", reason="`make test` installs pyspark (the dev extra)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark-demo")
    firm = generate_firm("s", seed=42)
    write_demo(firm, root)
    return SimpleNamespace(root=root, firm=firm)


def _run(demo, data_dir, engine: str, name: str):
    """`closedloop run --json` on a copy of the demo's config with its own data directory and [engine] lines."""
    cfg = write_demo_config(demo.root, demo.firm.params["as_of"], extra=f"\n[engine]\n{engine}\n", name=name)
    cfg.write_text(cfg.read_text().replace('data_dir = "."', f'data_dir = "{data_dir}"'))
    return cfg, CliRunner().invoke(app, ["run", "--config", str(cfg), "--json"])


@pytest.fixture(scope="module")
def spark_run(demo, tmp_path_factory):
    """The tier-s demo firm collected from its files, its checks and KPIs run on a Spark Connect server."""
    if not shutil.which("java"):
        pytest.fail("no Java runtime: `make test` installs Debian's default-jre-headless")
    data = tmp_path_factory.mktemp("spark-data")
    # schemas named with their catalog, as in Databricks' Unity Catalog (here Spark's own, spark_catalog)
    places = 'canonical_schema = "spark_catalog.firm_canon"\nwork_schema = "spark_catalog.cl_work"'
    with connect_server(data) as url:
        cfg, result = _run(demo, data, f'kind = "spark"\nurl = "{url}"\n{places}', "spark.toml")
        assert result.exit_code == 0, result.output
        engine = open_engine("spark", url)
        try:
            tables = {
                schema: set(
                    engine.fetch_arrow(f"SHOW TABLES IN spark_catalog.{schema}")["tableName"].to_pylist()
                )
                for schema in ("firm_canon", "cl_work")
            }
        finally:
            engine.close()
    return SimpleNamespace(root=data, cfg=cfg, firm=demo.firm, doc=json.loads(result.stdout), tables=tables)


def test_a_run_on_spark_connect_publishes_the_answer_key(spark_run):
    doc = spark_run.doc
    assert doc["status"] == "ok" and doc["published"]
    assert doc["engine"]["kind"] == "spark" and not doc["checks"]["errors"]
    moved = doc["engine"]["movement"]
    assert moved["rows_out"] > 10_000 and moved["rows_back"] > 100 and moved["transpile_seconds"] > 0
    con = duckdb.connect(doc["warehouse_file"], read_only=True)
    _judge(con, SimpleNamespace(run_id=doc["run_id"]), DEFAULT, spark_run.firm)  # exact, to the cent
    assert Warehouse.at(spark_run.root).published()["run_id"] == doc["run_id"]
    assert {"client", "sow", "time_entry", "invoice"} <= spark_run.tables["firm_canon"]  # where it was told
    assert {"results_finding", "results_monitor"} <= spark_run.tables["cl_work"]
    assert not any(t.startswith(("chk_", "results_")) for t in spark_run.tables["firm_canon"])


@pytest.mark.browser
def test_the_overview_of_a_spark_run_shows_its_cases_to_the_cent(spark_run, browser):  # noqa: F811
    with serving(spark_run.root, spark_run.cfg) as base:  # the app needs no engine: it reads the run file
        assert_overview_shows_cases(browser, base, spark_run.doc["warehouse_file"], "overview_spark_engine")


def test_an_unreachable_spark_connect_server_is_exit_2_naming_the_url_without_the_token(
    demo, tmp_path, monkeypatch
):
    monkeypatch.setenv("CLOSEDLOOP_ENGINE_PASSWORD", "dapi-token-never-shown")
    _, result = _run(demo, tmp_path, 'kind = "spark"\nurl = "sc://127.0.0.1:1/;use_ssl=true"', "down.toml")
    assert result.exit_code == 2, result.output
    assert "sc://127.0.0.1:1/;use_ssl=true" in result.output and "dapi-token-never-shown" not in result.output
    assert Warehouse.at(tmp_path).published() is None


def test_an_unreachable_spark_connect_url_names_it_without_the_token():
    with pytest.raises(EngineUnreachable) as err:
        open_engine("spark", "sc://127.0.0.1:1/;token=tok-never-shown")
    msg = str(err.value)
    assert "cannot reach Spark at sc://127.0.0.1:1/;token=***" in msg and "tok-never-shown" not in msg


def test_a_spark_url_of_another_kind_is_refused_naming_what_is_expected():
    with pytest.raises(EngineUnreachable, match=r"expected local\[N\] or a Spark Connect URL"):
        open_engine("spark", "jdbc:databricks://host:443")
