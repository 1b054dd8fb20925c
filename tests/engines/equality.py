"""Every rule and KPI on another engine against DuckDB, over one run's canonical model: the same check runs,
findings (details and $ to the cent) and KPI values. Each side re-runs on its own copy of the run file. A model
built on the engine from the run's raw tables (canonical = "build") is compared too, every table, every row."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from checks.kpis import compute_kpis
from checks.remote import Remote
from checks.runner import RunSummary, run_checks
from closedloop.engines.canon_build import column_types, tables_of

FINDING_COLS = (
    "check_id, entity_type, entity_id, correlation_id, impact_rc, expected_loss_rc, severity, details"
)


def findings(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple]:
    return con.execute(
        f"SELECT {FINDING_COLS} FROM results.finding WHERE run_id = ? ORDER BY ALL", [run_id]
    ).fetchall()


def check_runs(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple]:
    return con.execute(
        "SELECT check_id, status, row_count, impact_rc, expected_loss_rc FROM results.check_run "
        "WHERE run_id = ? ORDER BY check_id",
        [run_id],
    ).fetchall()


def kpis(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple]:
    # a ratio computed in another order may differ in the last bits of a double: compared to 6 places
    return con.execute(
        "SELECT kpi_id, name, round(value, 6), unit, slice_kind, slice_value FROM results.kpi WHERE run_id = ?"
        " ORDER BY ALL",
        [run_id],
    ).fetchall()


def rerun(run_file: Path, tmp: Path, run_id: str, remote: Remote | None = None):
    """Checks and KPIs again over a copy of the run file, on DuckDB or on `remote`."""
    copy = tmp / f"{run_id}.duckdb"
    shutil.copyfile(run_file, copy)
    con = duckdb.connect(str(copy))
    as_of, ccy = con.execute("SELECT as_of, reporting_currency FROM meta.run LIMIT 1").fetchone()
    summary = run_checks(con, run_id=run_id, as_of=as_of, reporting_ccy=ccy or "USD", remote=remote)
    compute_kpis(con, run_id=run_id, as_of=as_of, reporting_ccy=ccy or "USD", remote=remote)
    return con, summary


def canon_differences(con: duckdb.DuckDBPyConnection, remote: Remote) -> dict[str, tuple[int, int, int, int]]:
    """Canonical table -> (rows here, rows there, rows only here, rows only there) where the engine's table
    differs from the run's: every column compared, typed as the run's model types it."""
    out = {}
    for logical in tables_of(con, "canon"):
        there = remote.engine.fetch_arrow(f"SELECT * FROM {remote.name(logical)}")
        typed = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in column_types(con, logical).items())
        con.register("_there", there)
        try:
            only_here, only_there = (
                con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()[0]
                for a, b in (
                    (f"SELECT * FROM {logical}", f"SELECT {typed} FROM _there"),
                    (f"SELECT {typed} FROM _there", f"SELECT * FROM {logical}"),
                )
            )
        finally:
            con.unregister("_there")
        here = con.execute(f"SELECT count(*) FROM {logical}").fetchone()[0]
        if only_here or only_there:
            out[logical.split(".", 1)[1]] = (here, there.num_rows, only_here, only_there)
    return out


def errors(summary: RunSummary) -> dict[str, str | None]:
    return {r.check_id: r.error for r in summary.results if r.status == "error"}


def assert_same(run_file: Path, tmp: Path, *remotes: Remote) -> int:
    """Each engine's results equal DuckDB's over the run's model; returns how many findings were compared."""
    local, local_summary = rerun(run_file, tmp, "on_duckdb")
    assert not errors(local_summary), errors(local_summary)
    for remote in remotes:
        kind = f"on_{remote.engine.kind}"
        there, summary = rerun(run_file, tmp, kind, remote)
        assert not errors(summary), (kind, errors(summary))
        if remote.canonical == "build":  # built there from the raw tables: every canonical row as here
            assert not canon_differences(there, remote), (kind, canon_differences(there, remote))
        assert check_runs(there, kind) == check_runs(local, "on_duckdb"), kind
        assert findings(there, kind) == findings(local, "on_duckdb"), kind
        assert kpis(there, kind) == kpis(local, "on_duckdb"), kind
        there.close()
    return len(findings(local, "on_duckdb"))
