"""KPIs on the golden firm: every KPI present, a few exact values."""

from __future__ import annotations

from checks.kpis import compute_kpis
from tests.checks.firm import AS_OF


def test_kpis(golden):
    con, _ = golden
    n = compute_kpis(con, run_id="golden", as_of=AS_OF)
    assert n > 30
    ids = {r[0] for r in con.execute("SELECT DISTINCT kpi_id FROM results.kpi").fetchall()}
    assert ids == {"K01", "K02", "K03", "K04", "K05", "K06", "K07", "K08", "K11", "K13"}
    kinds = {r[0] for r in con.execute("SELECT DISTINCT slice_kind FROM results.kpi").fetchall()}
    assert kinds <= {"total", "legal_entity", "practice", "region", "client", "month"}

    def value(name: str) -> float:
        return con.execute(
            "SELECT value FROM results.kpi WHERE name = ? AND slice_kind = 'total'", [name]
        ).fetchone()[0]

    assert value("amendment_open_backlog") == 1
    assert value("amendment_open_value") == 20000
    assert value("contract_to_project_median") == 1
    leak = con.execute(
        "SELECT sum(impact_rc) FROM results.finding WHERE run_id = 'golden' AND impact_kind = 'leakage'"
    ).fetchone()[0]
    assert value("revenue_leakage") == float(leak)
    compute_kpis(con, run_id="golden", as_of=AS_OF)  # idempotent per run
    assert con.execute("SELECT count(*) FROM results.kpi WHERE run_id = 'golden'").fetchone()[0] == n
