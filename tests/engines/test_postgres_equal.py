"""Every rule and KPI gives the same rows and the same $ to the cent on PostgreSQL as on DuckDB (tier s)."""

from __future__ import annotations

import pytest

from checks.kpis import compute_kpis
from checks.remote import Remote
from checks.runner import run_checks
from closedloop.demo import answer, generate_firm
from closedloop.engines import EngineUnreachable, open_engine
from tests.engines.equality import check_runs, findings, kpis


@pytest.fixture(scope="module")
def demo_firm():
    return generate_firm("s", seed=42)


def _run_both(firm, engine, password):
    as_of = answer.as_of_of(firm)
    local = answer.load_canon(firm)
    run_checks(local, run_id="r", as_of=as_of)
    compute_kpis(local, run_id="r", as_of=as_of)
    there = answer.load_canon(firm)
    remote = Remote(engine, password=password)
    summary = run_checks(there, run_id="r", as_of=as_of, remote=remote)
    compute_kpis(there, run_id="r", as_of=as_of, remote=remote)
    return local, there, summary, remote


def test_default_estate_same_findings_kpis_and_cents_on_postgres(pg, demo_firm):
    engine = open_engine("postgres", pg.url, pg.password)
    try:
        local, there, summary, remote = _run_both(demo_firm, engine, pg.password)
    finally:
        engine.close()
    assert not summary.by_status("error"), {r.check_id: r.error for r in summary.results if r.error}
    assert check_runs(there, "r") == check_runs(local, "r")
    assert findings(there, "r") == findings(local, "r")
    assert len(findings(local, "r")) > 100  # the demo firm has defects: equality over real findings
    assert kpis(there, "r") == kpis(local, "r")
    moved = remote.movement
    assert moved.rows_out > 1000 and moved.bytes_out > 0 and moved.rows_back >= len(findings(local, "r"))


def test_an_unreachable_postgres_names_the_url_without_the_password():
    with pytest.raises(EngineUnreachable) as err:
        open_engine("postgres", "postgresql+psycopg://me:hunter22@127.0.0.1:1/db", "hunter22")
    msg = str(err.value)
    assert "127.0.0.1:1/db" in msg and "me:***@" in msg and "hunter22" not in msg
