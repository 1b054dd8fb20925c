"""Compute the KPIs (catalog §B) from checks/kpis/*.sql into results.kpi, one row per KPI and slice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from checks.coverage import NOT_COVERED, assess
from checks.coverage import store as store_coverage
from checks.loader import KPIS_DIR, create_views, set_context, set_variables
from checks.results import ensure_results

KPI_PARAMS: dict[str, Any] = {
    "sla_sow_to_project_bd": 5,
    "sla_amend_bd": 5,
    "sync_sla_hours": 24,
    "dso_days": 90,
}
KPI_COLS = ("kpi_id", "name", "value", "unit", "slice_kind", "slice_value")


def kpi_files(kpis_dir: Path = KPIS_DIR) -> list[Path]:
    """Every KPI query, sorted."""
    return sorted(kpis_dir.glob("*.sql"))


def compute_kpis(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    as_of: Any,
    reporting_ccy: str = "USD",
    params: dict[str, Any] | None = None,
) -> int:
    """Replace this run's rows in results.kpi; returns the number of KPI rows written.

    Run after run_checks: K02/K04/K08 read results.finding(_history).
    """
    values = {**KPI_PARAMS, **(params or {})}
    set_context(con, as_of, reporting_ccy, run_id=run_id)
    set_variables(con, values)
    ensure_results(con)
    create_views(con, reuse=True)  # built by run_checks for this run
    con.execute("DELETE FROM results.kpi WHERE run_id = ?", [run_id])
    queries = {
        path.stem.split("_", 1)[0].upper(): (path, path.read_text().strip().rstrip(";"))
        for path in kpi_files()
    }
    coverage = assess(con, [(kpi, "kpi", sql) for kpi, (_, sql) in queries.items()])
    store_coverage(con, run_id, list(coverage.values()), "kpi")
    for kpi, (path, sql) in queries.items():
        if coverage[kpi].status == NOT_COVERED:  # no value rather than a 0 % or 100 % tile on missing inputs
            continue
        try:
            con.execute(
                "INSERT INTO results.kpi SELECT getvariable('run_id'), getvariable('as_of'), "
                f"q.kpi_id, q.name, CAST(q.value AS DOUBLE), q.unit, q.slice_kind, CAST(q.slice_value AS VARCHAR) "
                f"FROM (\n{sql}\n) q"
            )
        except duckdb.Error as exc:
            raise RuntimeError(f"{path}: {exc}") from exc
    return con.execute("SELECT count(*) FROM results.kpi WHERE run_id = ?", [run_id]).fetchone()[0]
