"""Compute the KPIs (catalog §B) from checks/kpis/*.sql into results.kpi, one row per KPI and slice.

A KPI file is written like a rule: a YAML header (id, title, description, params with their defaults) in a
leading block comment, then one SELECT. Its parameters are declared there only; a firm overrides them in
`[checks] params` by name or as `K01.name` (checks/params.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from checks.coverage import NOT_COVERED, assess
from checks.coverage import store as store_coverage
from checks.loader import (
    KPIS_DIR,
    CheckLoadError,
    check_keys,
    context_values,
    create_views,
    read_body,
    read_header,
    read_params,
    set_context,
    set_variables,
)
from checks.params import declared, known, resolve, split_context
from checks.remote import Remote, fetch_rows, push_results
from checks.results import ensure_results

KPI_COLS = ("kpi_id", "name", "value", "unit", "slice_kind", "slice_value")
KPI_REQUIRED_KEYS = ("id", "title", "description")
KPI_OPTIONAL_KEYS = ("params",)
KPI_ID_RE = re.compile(r"^K\d{2}$")


@dataclass(frozen=True)
class Kpi:
    """One parsed KPI file."""

    id: str
    title: str
    description: str
    params: dict[str, Any]
    sql: str
    path: Path
    sql_line: int


def kpi_files(kpis_dir: Path = KPIS_DIR) -> list[Path]:
    """Every KPI query, sorted."""
    return sorted(kpis_dir.glob("*.sql"))


def parse_kpi(path: Path, text: str | None = None) -> Kpi:
    """Parse one KPI file; raise CheckLoadError naming the file and line."""
    text = path.read_text() if text is None else text
    meta, header_line, header_end = read_header(path, text)
    check_keys(path, text, meta, header_line, KPI_REQUIRED_KEYS, KPI_OPTIONAL_KEYS)
    kpi_id = str(meta["id"])
    if not KPI_ID_RE.match(kpi_id) or not path.stem.upper().startswith(kpi_id + "_"):
        raise CheckLoadError(path, header_line, f"bad id {kpi_id!r} (want KNN, the file name's prefix)")
    sql, sql_line = read_body(path, text, header_end, header_line)
    return Kpi(
        id=kpi_id,
        title=str(meta["title"]),
        description=str(meta["description"]).strip(),
        params=read_params(path, text, meta, sql, sql_line),
        sql=sql,
        path=path,
        sql_line=sql_line,
    )


def load_kpis(kpis_dir: Path = KPIS_DIR) -> list[Kpi]:
    """Every KPI file, parsed."""
    return [parse_kpi(p) for p in kpi_files(kpis_dir)]


def compute_kpis(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    as_of: Any,
    reporting_ccy: str = "USD",
    params: dict[str, Any] | None = None,
    kpis: list[Kpi] | None = None,
    remote: Remote | None = None,
) -> int:
    """Replace this run's rows in results.kpi; returns the number of KPI rows written.

    Run after run_checks, with the same params: K02/K04/K08 read results.finding(_history), and the helper
    views run_checks built are reused only when the context values are the same.
    """
    kpis = kpis if kpis is not None else load_kpis()
    context, overrides = split_context(params)
    rules = {k: v for k, v in declared().items() if not KPI_ID_RE.match(k)}
    values = resolve({k.id: k.params for k in kpis}, overrides, also_known=known(rules))
    set_context(con, as_of, reporting_ccy, run_id=run_id, **context)
    ensure_results(con)
    create_views(con, reuse=True)  # built by run_checks for this run
    con.execute("DELETE FROM results.kpi WHERE run_id = ?", [run_id])
    coverage = assess(con, [(k.id, "kpi", k.sql) for k in kpis])
    store_coverage(con, run_id, list(coverage.values()), "kpi")
    if remote is not None:  # the findings the KPIs read, as the checks just stored them
        push_results(con, remote)
        ctx = context_values(as_of, reporting_ccy, run_id=run_id, **context)
    for kpi in kpis:
        if (
            coverage[kpi.id].status == NOT_COVERED
        ):  # no value rather than a 0 % or 100 % tile on missing inputs
            continue
        set_variables(con, values[kpi.id])
        source = kpi.sql
        try:
            if remote is not None:  # computed on the engine; its rows stored here like a DuckDB KPI's
                con.register(
                    "_engine_kpi",
                    fetch_rows(remote, kpi.sql, {**ctx, **values[kpi.id]}),
                )
                source = "SELECT * FROM _engine_kpi"
            con.execute(
                "INSERT INTO results.kpi SELECT getvariable('run_id'), getvariable('as_of'), "
                f"q.kpi_id, q.name, CAST(q.value AS DOUBLE), q.unit, q.slice_kind, CAST(q.slice_value AS VARCHAR) "
                f"FROM (\n{source}\n) q"
            )
        except Exception as exc:
            raise RuntimeError(f"{kpi.path}: {exc}") from exc
        finally:
            if remote is not None:
                con.unregister("_engine_kpi")
    return con.execute("SELECT count(*) FROM results.kpi WHERE run_id = ?", [run_id]).fetchone()[0]
