"""The closedloop command line: demo, run, collect, runs (and later check, findings, trace, serve)."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from closedloop import settings as cfgmod

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Quote-to-cash reconciliation for services firms."
)
console = Console(stderr=True)
out = Console()

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="closedloop.toml (default: ./closedloop.toml)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


def _config(path: Path | None) -> cfgmod.Config:
    try:
        return cfgmod.load(path)
    except cfgmod.ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from None


def _progress(msg: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {msg}")


def _run_or_exit(fn, *args, **kwargs):
    from closedloop.pipeline import PipelineError
    from closedloop.runlock import RunInProgress

    try:
        return fn(*args, **kwargs)
    except RunInProgress as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        raise typer.Exit(3) from None
    except (PipelineError, cfgmod.ConfigError) as exc:
        console.print(f"[red]error:[/red] {exc}")
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
        console.print(f"[red]•[/red] {err}")


@app.command()
def run(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Collect every configured source, build the canonical model, run checks, publish if whole."""
    from closedloop import pipeline

    cfg = _config(config)
    report = _run_or_exit(pipeline.run, cfg, progress=None if as_json else _progress)
    _print_report(report, as_json)
    raise typer.Exit(0 if report.status == "ok" else 1)


@app.command()
def collect(source: str, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Refresh one source; the others keep their last good data."""
    from closedloop import pipeline

    cfg = _config(config)
    report = _run_or_exit(
        pipeline.run, cfg, only=[source], trigger="collect", progress=None if as_json else _progress
    )
    _print_report(report, as_json)
    raise typer.Exit(0 if report.status == "ok" else 1)


@app.command()
def runs(config: ConfigOpt = None, limit: int = 20, as_json: JsonOpt = False) -> None:
    """List recent runs from the run ledger."""
    from closedloop.ops import OpsStore
    from closedloop.warehouse import Warehouse

    cfg = _config(config)
    rows = OpsStore(cfg.ops_url).runs(limit)
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


@app.command()
def demo(
    tier: Annotated[str, typer.Option(help="Firm size: s (~200 people), m (~5,000), l (~30,000).")] = "s",
    seed: Annotated[int, typer.Option(help="Generator seed: same seed, same firm.")] = 42,
    people: Annotated[int | None, typer.Option(help="Headcount, overriding the tier's.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the demo firm and its warehouse go.")] = Path(
        "data/demo"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Generate a demo firm, collect its exports through the real collectors, and show what breaks."""
    from closedloop import pipeline
    from closedloop.demo import generate_firm, write_demo
    from closedloop.demo.config import write_demo_config

    if tier not in ("s", "m", "l"):
        console.print(f"[red]error:[/red] --tier must be s, m or l, not {tier!r}")
        raise typer.Exit(2)
    t0 = time.perf_counter()
    _progress(f"generating a tier-{tier} firm (seed {seed})")
    firm = generate_firm(tier, seed, people=people)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_demo(firm, out_dir)
    t_gen = time.perf_counter() - t0
    as_of = firm.params["as_of"]
    cfg_path = write_demo_config(out_dir, as_of)
    cfg = _config(cfg_path)
    report = _run_or_exit(pipeline.run, cfg, trigger="demo", progress=None if as_json else _progress)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if as_json:
        doc = report.as_dict() | {"generate_seconds": round(t_gen, 2), "peak_rss_mb": round(peak_mb)}
        out.print_json(json.dumps(doc, default=str))
    else:
        _print_report(report, False)
        console.print(
            f"generated in {t_gen:.1f}s, pipeline {report.seconds:.1f}s, peak memory {peak_mb:,.0f} MB; "
            f"config: {cfg_path}"
        )
    raise typer.Exit(0 if report.status == "ok" else 1)


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
