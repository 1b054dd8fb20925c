"""The closedloop command line: one Typer app; commands live in small modules by what they are for."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from closedloop import settings as cfgmod
from closedloop.redact import redact

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Quote-to-cash reconciliation for services firms."
)
console = Console(stderr=True)
out = Console()

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="closedloop.toml (default: ./closedloop.toml)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


def _config(path: Path | None, *, required: bool = False) -> cfgmod.Config:
    """The config, or exit 2 with what is wrong (key and file); `required`: no defaults without a file."""
    try:
        return cfgmod.load(path, required=required)
    except cfgmod.ConfigError as exc:
        config_error(exc)


def config_error(exc: Exception) -> NoReturn:
    """Print a config error (redacted; escaped: '[wharehouse]' is text, not rich markup) and exit 2."""
    console.print(f"[red]config error:[/red] {escape(redact(str(exc)))}", soft_wrap=True)  # paths stay whole
    raise typer.Exit(2) from None


def _progress(msg: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {msg}")


def _run_or_exit(fn, *args, **kwargs):
    from closedloop.pipeline import PipelineError
    from closedloop.runlock import RunInProgress

    try:
        return fn(*args, **kwargs)
    except RunInProgress as exc:
        console.print(f"[yellow]{escape(str(exc))}[/yellow]")
        raise typer.Exit(3) from None
    except (PipelineError, cfgmod.ConfigError) as exc:
        console.print(f"[red]error:[/red] {escape(redact(str(exc)))}")
        raise typer.Exit(2) from None


def _print_report(report, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(report.as_dict(), default=str))
        return
    t = Table(
        title=f"run {report.run_id}: {report.status}"
        + (" — published" if report.published else " — not published")
    )
    for col in ("source", "status", "rows", "seconds", "errors"):
        t.add_column(col)
    for s in report.sources:
        t.add_row(s.source, s.status, f"{s.rows:,}", f"{s.seconds:.1f}", "\n".join(s.errors)[:300])
    out.print(t)
    for err in report.errors:
        console.print(f"[red]•[/red] {redact(err)}")
    if report.checks:
        _print_checks(report)


def _print_checks(report) -> None:
    """What the checks found: counts, then the money per kind from the run's cases (never one total)."""
    c = report.checks
    out.print(
        f"checks: {c.get('passed', 0)} passed · {c.get('failed', 0)} failed · {c.get('suppressed', 0)} suppressed"
        f" · {c.get('not_covered', 0)} not covered · {c.get('error', 0)} errors; {c.get('findings', 0):,} findings"
    )
    if not Path(report.warehouse_file).is_file():
        return
    import duckdb

    from closedloop import findings as fmod

    try:
        con = duckdb.connect(report.warehouse_file, read_only=True)
    except duckdb.Error:  # still held by a writer: the counts above are what there is to say
        return
    try:
        cases = fmod.case_totals(con)
    finally:
        con.close()
    if cases:
        out.print(f"at stake, each case counted once: {fmod.kinds_line(cases, 'cases')}")


def _published(cfg: cfgmod.Config):
    from closedloop.warehouse import Warehouse

    con = Warehouse.at(cfg.data_dir).connect_published()
    if con is None:
        console.print(
            "[yellow]no published run yet:[/yellow] run `closedloop run` (or `closedloop demo`) first"
        )
        raise typer.Exit(1)
    return con


# Commands register themselves on `app` when their module is imported.
from closedloop.cli import runs_cmds  # noqa: E402, F401, I001  (listed first in --help)
from closedloop.cli import explore, demo_cmds, operate, discover_cmd, pack_cmd, audit_cmd  # noqa: E402, F401


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
