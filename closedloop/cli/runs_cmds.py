"""Running the pipeline: run, collect one source, re-check, and the run ledger."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from closedloop.cli import (
    ConfigOpt,
    JsonOpt,
    _config,
    _print_report,
    _progress,
    _run_or_exit,
    app,
    out,
)


@app.command()
def run(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Collect every configured source, build the canonical model, run checks, publish if whole."""
    from closedloop import pipeline

    cfg = _config(config, required=True)
    report = _run_or_exit(pipeline.run, cfg, progress=None if as_json else _progress)
    _print_report(report, as_json)
    raise typer.Exit(report.exit_code)


@app.command()
def collect(source: str, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Refresh one source; the others keep their last good data."""
    from closedloop import pipeline

    cfg = _config(config, required=True)
    report = _run_or_exit(
        pipeline.run, cfg, only=[source], trigger="collect", progress=None if as_json else _progress
    )
    _print_report(report, as_json)
    raise typer.Exit(report.exit_code)


@app.command()
def check(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Run the checks and KPIs again on the latest collected data (no collection)."""
    from closedloop import pipeline

    cfg = _config(config, required=True)
    report = _run_or_exit(
        pipeline.run, cfg, only=[], trigger="check", progress=None if as_json else _progress
    )
    _print_report(report, as_json)
    raise typer.Exit(report.exit_code)


@app.command()
def runs(config: ConfigOpt = None, limit: int = 20, as_json: JsonOpt = False) -> None:
    """List recent runs from the run ledger."""
    from closedloop.ops import open_reconciled
    from closedloop.warehouse import Warehouse

    cfg = _config(config)
    rows = open_reconciled(cfg).runs(limit)
    current = (Warehouse.at(cfg.data_dir).published() or {}).get("run_id")
    if as_json:
        out.print_json(json.dumps([{**r, "current": r["run_id"] == current} for r in rows], default=str))
        return
    t = Table(title="runs")
    for col in ("run", "started (UTC)", "status", "published", "rows", "seconds", "errors"):
        t.add_column(col)
    for r in rows:
        mark = " ◀ current" if r["run_id"] == current else ""
        errs = json.loads(r["errors"] or "[]")
        t.add_row(
            r["run_id"] + mark,
            str(r["started_at"])[:19],
            r["status"],
            "yes" if r["published"] else "no",
            f"{r['rows'] or 0:,}",
            f"{r['seconds'] or 0:.1f}",
            (errs[0][:120] if errs else ""),
        )
    out.print(t)
