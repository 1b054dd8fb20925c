"""KPIs on the golden firm: every KPI present, a few exact values."""

from __future__ import annotations

import pytest

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


def test_kpi_parameters_come_from_their_headers_and_take_overrides(golden):
    from checks.kpis import load_kpis

    con, _ = golden
    kpis = {k.id: k for k in load_kpis()}
    assert kpis["K06"].params == {"dso_days": 90} and kpis["K01"].title
    assert all(k.description for k in kpis.values())

    def dso(**params) -> float:
        compute_kpis(con, run_id="golden", as_of=AS_OF, params=params)
        return con.execute(
            "SELECT value FROM results.kpi WHERE run_id = 'golden' AND name = 'dso' AND slice_kind = 'total'"
        ).fetchone()[0]

    default, shorter = dso(), dso(dso_days=30)
    assert default != shorter  # fewer days of billings divide the same open AR
    assert dso(**{"K06.dso_days": 30}) == shorter
    assert dso(**{"K06.dso_days": 30, "dso_days": 90}) == shorter  # the id form wins
    assert dso(grace_won_to_sow_days=3) == default  # a rule's parameter is known, and no KPI's business
    with pytest.raises(ValueError, match="nope"):
        compute_kpis(con, run_id="golden", as_of=AS_OF, params={"nope": 1})


def test_a_kpi_file_without_its_header_or_declaring_too_little_is_refused(tmp_path):
    from checks.kpis import load_kpis
    from checks.loader import CheckLoadError

    body = "SELECT 'K99' AS kpi_id, 'x' AS name, getvariable('window_days') AS value"
    (tmp_path / "k99_x.sql").write_text(body)
    with pytest.raises(CheckLoadError, match=r"k99_x\.sql:1: missing YAML header"):
        load_kpis(tmp_path)
    header = "/* ---\nid: K99\ntitle: X\ndescription: d\n--- */\n"
    (tmp_path / "k99_x.sql").write_text(header + body)
    with pytest.raises(
        CheckLoadError, match=r"k99_x.sql:6: getvariable of undeclared param\(s\): \['window_days'\]"
    ):
        load_kpis(tmp_path)
    (tmp_path / "k99_x.sql").write_text(header.replace("K99", "K98") + body)
    with pytest.raises(CheckLoadError, match="bad id 'K98'"):
        load_kpis(tmp_path)
    (tmp_path / "k99_x.sql").write_text(header.replace("--- */", "params:\n  window_days: 30\n--- */") + body)
    assert load_kpis(tmp_path)[0].params == {"window_days": 30}
