"""Every rule and KPI gives the same rows and the same $ to the cent on Spark (local[2]) as on DuckDB (tier s).

The default estate only: one estate costs Spark local[2] about 3-4 minutes on CI's two cores (every statement is a
Spark job), so the 20 estates PostgreSQL is proven on (tests/demo/test_profiles.py) would take over an hour. The
estates differ in what the sources hold and how they map; the rules read the same canonical model on every engine.
"""

from __future__ import annotations

import shutil

import pytest

from checks.kpis import compute_kpis
from checks.remote import Remote
from checks.runner import run_checks
from closedloop.demo import answer, generate_firm
from closedloop.engines import EngineUnreachable, open_engine
from tests.engines.equality import check_runs, errors, findings, kpis

pytest.importorskip("pyspark", reason="`make test` installs pyspark (the dev extra)")


def test_default_estate_same_findings_kpis_and_cents_on_spark():
    if not shutil.which("java"):
        pytest.fail("no Java runtime: `make test` installs Debian's default-jre-headless")
    firm = generate_firm("s", seed=42)
    as_of = answer.as_of_of(firm)
    local = answer.load_canon(firm)
    run_checks(local, run_id="r", as_of=as_of)
    compute_kpis(local, run_id="r", as_of=as_of)
    there = answer.load_canon(firm)
    remote = Remote(open_engine("spark", "local[2]"))
    try:
        summary = run_checks(there, run_id="r", as_of=as_of, remote=remote)
        compute_kpis(there, run_id="r", as_of=as_of, remote=remote)
    finally:
        remote.engine.close()
    assert not errors(summary), errors(summary)
    assert check_runs(there, "r") == check_runs(local, "r")
    assert findings(there, "r") == findings(local, "r")
    assert len(findings(local, "r")) > 100  # equality over real findings
    assert kpis(there, "r") == kpis(local, "r")
    assert remote.movement.rows_out > 1000 and remote.movement.transpile_seconds > 0


def test_an_unreachable_spark_connect_url_names_it_without_the_token():
    with pytest.raises(EngineUnreachable) as err:
        open_engine("spark", "sc://127.0.0.1:1/;token=tok-never-shown")
    msg = str(err.value)
    assert "127.0.0.1:1" in msg and "tok-never-shown" not in msg


def test_a_spark_url_of_another_kind_is_refused_naming_what_is_expected():
    with pytest.raises(EngineUnreachable, match=r"expected local\[N\] or a Spark Connect URL"):
        open_engine("spark", "jdbc:databricks://host:443")
