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


def _published(cfg: cfgmod.Config):
    from closedloop.warehouse import Warehouse

    con = Warehouse.at(cfg.data_dir).connect_published()
    if con is None:
        console.print(
            "[yellow]no published run yet:[/yellow] run `closedloop run` (or `closedloop demo`) first"
        )
        raise typer.Exit(1)
    return con


@app.command()
def check(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Run the checks and KPIs again on the latest collected data (no collection)."""
    from closedloop import pipeline

    cfg = _config(config)
    report = _run_or_exit(
        pipeline.run, cfg, only=[], trigger="check", progress=None if as_json else _progress
    )
    _print_report(report, as_json)
    if not as_json and report.checks:
        console.print(f"checks: {json.dumps(report.checks, default=str)[:400]}")
    raise typer.Exit(0 if report.status == "ok" else 1)


@app.command()
def findings(
    config: ConfigOpt = None,
    check_id: Annotated[str | None, typer.Option("--check", help="Check id, e.g. Q2C-010.")] = None,
    severity: Annotated[str | None, typer.Option(help="S1..S4.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner team (substring).")] = None,
    client: Annotated[str | None, typer.Option(help="Client id.")] = None,
    min_impact: Annotated[float | None, typer.Option("--min", help="Minimum $ impact.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show / export.")] = 50,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write the matching rows to a CSV file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the published run's findings, largest $ first, with filters and CSV export."""
    from decimal import Decimal

    from closedloop import findings as fmod

    cfg = _config(config)
    con = _published(cfg)
    flt = fmod.Filters(
        check_id, severity, owner, client, Decimal(str(min_impact)) if min_impact is not None else None, limit
    )
    try:
        rows, count, total = fmod.query(con, flt)
    finally:
        con.close()
    if csv_path:
        csv_path.write_text(fmod.to_csv(rows), encoding="utf-8")
        console.print(f"wrote {len(rows)} findings to {csv_path}")
    if as_json:
        out.print_json(json.dumps({"count": count, "impact_rc": total, "findings": rows}, default=str))
        return
    t = Table(title=f"{count:,} findings, ${total:,.2f} impact (showing {len(rows)})")
    for col in ("check", "sev", "$ impact", "entity", "correlation", "owner", "status"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["check_id"],
            r["severity"],
            f"{r['impact_rc'] or 0:,.2f}",
            f"{r['entity_type']} {r['entity_id']}",
            r["correlation_id"] or "—",
            r["owner_team"] or "",
            r["status"] or "",
        )
    out.print(t)


@app.command()
def trace(
    any_id: Annotated[str, typer.Argument(metavar="ID")], config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Follow one commercial flow from any ID (correlation, opportunity, SOW, project, invoice no., event)."""
    from closedloop import trace as tmod

    cfg = _config(config)
    con = _published(cfg)
    try:
        flows = tmod.resolve(con, any_id)
        matches = tmod.match(con, any_id)
        docs = []
        for cid in flows:
            records = tmod.timeline(con, cid)
            docs.append(
                {
                    "correlation_id": cid,
                    "timeline": [
                        {
                            "lane": r.lane,
                            "entity_type": r.entity_type,
                            "entity_id": r.entity_id,
                            "ts": r.ts,
                            "fields": r.fields,
                        }
                        for r in records
                    ],
                    "findings": tmod.findings(con, cid),
                }
            )
    finally:
        con.close()
    if as_json:
        out.print_json(
            json.dumps(
                {"query": any_id, "matches": [m.__dict__ for m in matches], "flows": docs}, default=str
            )
        )
        raise typer.Exit(0 if docs or matches else 1)
    if not docs:
        if matches:
            for m in matches:
                out.print(
                    f"{m.lane:<10} {m.entity_type:<18} {m.entity_id}  (no correlation ID: unresolved flow)"
                )
            raise typer.Exit(0)
        console.print(f"nothing in the published run matches {tmod.clean_id(any_id)!r}")
        raise typer.Exit(1)
    for doc in docs:
        t = Table(title=f"flow {doc['correlation_id']}")
        for col in ("when (UTC)", "system", "record", "id", "key fields"):
            t.add_column(col)
        for r in doc["timeline"]:
            keys = ", ".join(f"{k}={v}" for k, v in list(r["fields"].items())[:4] if v is not None)
            t.add_row(str(r["ts"] or "")[:16], r["lane"], r["entity_type"], r["entity_id"], keys[:90])
        out.print(t)
        for f in doc["findings"]:
            out.print(
                f"[red]⚑[/red] {f.get('check_id')} {f.get('severity')} ${f.get('impact_rc') or 0:,.2f} "
                f"{f.get('entity_type')} {f.get('entity_id')}"
            )


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
    transport: Annotated[
        str, typer.Option(help="api: collect through the local vendor sandbox; files: read the exports.")
    ] = "api",
    serve_app: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve", help="Serve the app on 127.0.0.1 when done (--no-serve for scripts)."
        ),
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the app when serving.")] = 8501,
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
    cfg_path = write_demo_config(out_dir, as_of)  # files transport: later runs need no sandbox
    if transport == "api":
        from closedloop.sandbox.demo import through_sandbox

        with through_sandbox(out_dir, as_of) as (sandbox_cfg, sandbox):
            _progress(
                f"collecting salesforce, netsuite and ironclad through the sandbox at {sandbox.base_url}"
            )
            cfg = _config(sandbox_cfg)
            report = _run_or_exit(pipeline.run, cfg, trigger="demo", progress=None if as_json else _progress)
    elif transport == "files":
        cfg = _config(cfg_path)
        report = _run_or_exit(pipeline.run, cfg, trigger="demo", progress=None if as_json else _progress)
    else:
        console.print(f"[red]error:[/red] --transport must be api or files, not {transport!r}")
        raise typer.Exit(2)
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
        if report.published:
            _print_headline(cfg)
    if report.status != "ok":
        raise typer.Exit(1)
    if serve_app and not as_json:
        console.print(f"serving the app: [bold]http://127.0.0.1:{port}[/bold]  (Ctrl-C to stop)")
        serve(config=cfg_path, port=port, no_app=False)


def _print_headline(cfg: cfgmod.Config, top: int = 10) -> None:
    """The demo's last word: what the checks found, the largest breaks by $, and the KPIs."""
    from closedloop import findings as fmod

    con = _published(cfg)
    try:
        rows, count, total = fmod.query(con, fmod.Filters(limit=top))
        kpis = con.execute(
            "SELECT kpi_id, name, value, unit FROM results.kpi WHERE run_id = (SELECT max(run_id) FROM results.kpi)"
            " AND slice_kind = 'total' ORDER BY kpi_id, name"
        ).fetchall()
    finally:
        con.close()
    t = Table(title=f"top {len(rows)} of {count:,} findings — ${total:,.2f} at stake")
    for col in ("check", "sev", "$ impact", "entity", "correlation"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["check_id"],
            r["severity"],
            f"{r['impact_rc'] or 0:,.2f}",
            f"{r['entity_type']} {r['entity_id']}",
            r["correlation_id"] or "—",
        )
    out.print(t)
    k = Table(title="KPIs")
    for col in ("kpi", "name", "value", "unit"):
        k.add_column(col)
    for kpi_id, name, value, unit in kpis:
        k.add_row(kpi_id, name, "—" if value is None else f"{value:,.2f}", unit or "")
    out.print(k)


@app.command()
def sandbox(
    tier: Annotated[str, typer.Option(help="Firm to generate when DIR has no exports: s, m or l.")] = "s",
    seed: Annotated[int, typer.Option(help="Generator seed when generating.")] = 42,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: a free one).")] = 8765,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Demo directory or exports root (default data/sandbox/<tier>-<seed>)."),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="KIND[@vendor][:every=N,first=K,seconds=S,status=C,field=F,to=T,stream=S]; repeatable."
        ),
    ] = None,
) -> None:
    """Serve a demo firm through the vendors' own APIs (Salesforce, NetSuite, Ironclad) on 127.0.0.1."""
    from closedloop.sandbox import KINDS, FaultError, Sandbox, ensure_exports, parse_fault

    try:
        faults = [parse_fault(f) for f in fault or []]
    except FaultError as exc:
        kinds = "; ".join(f"{k}: {doc}" for k, (_, doc) in KINDS.items())
        console.print(f"[red]error:[/red] {exc}\nfault kinds — {kinds}")
        raise typer.Exit(2) from None
    root = ensure_exports(directory or Path(f"data/sandbox/{tier}-{seed}"), tier, seed, say=_progress)
    sb = Sandbox(root, faults=faults, port=port)
    cfg = sb.state.credentials
    faults_text = ", ".join(fault or []) or "none"
    console.print(
        f"salesforce client_id={cfg.salesforce_client_id}; netsuite TBA account {cfg.netsuite_account_id};"
        f" ironclad client_id={cfg.ironclad_client_id}, as_user_email={cfg.ironclad_user_email};"
        " dummy secrets: closedloop.sandbox.secret_env()"
    )
    sb.serve_forever(announce=lambda url: _progress(f"serving {root} on {url} (faults: {faults_text})"))


@app.command()
def bench(
    tier: Annotated[str, typer.Option(help="Firm size to measure: s, m or l.")] = "s",
    stages: Annotated[str, typer.Option(help="Comma-separated stages (default: all registered).")] = "",
    work: Annotated[Path | None, typer.Option(help="Work directory (default: a new temp dir).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure wall time and peak memory of each stage on a demo firm (timings live here, not in tests)."""
    from dataclasses import asdict

    from closedloop import bench as benchmod

    names = [s for s in stages.split(",") if s] or list(benchmod.STAGES)
    results = benchmod.run_bench(tier, names, work)
    if as_json:
        out.print_json(json.dumps([asdict(r) for r in results], default=str))
        return
    t = Table(title=f"closedloop bench — tier {tier}")
    for col in ("stage", "seconds", "peak RSS (MB)", "exit"):
        t.add_column(col)
    for r in results:
        t.add_row(r.stage, f"{r.seconds:.2f}", f"{r.peak_rss_mb:,.0f}", str(r.exit_code))
    out.print(t)


@app.command()
def serve(
    config: ConfigOpt = None,
    port: Annotated[int, typer.Option(help="Port of the Streamlit app.")] = 8501,
    no_app: Annotated[bool, typer.Option("--no-app", help="Run only the scheduler.")] = False,
) -> None:
    """Serve the app and the scheduler (cron runs, 'run now' requests) in one process tree."""
    import signal
    import subprocess
    import threading

    from closedloop import scheduler

    cfg = _config(config)
    try:
        sched = scheduler.start(cfg)
    except cfgmod.ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from None
    for job in scheduler.scheduler_state(cfg)["jobs"]:
        _progress(f"scheduled {job['id']}: {job['trigger']}, next {job['next_run_time']}")
    child = None
    if not no_app:
        app_file = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
        env = {**os.environ, **({cfgmod.ENV_CONFIG: str(cfg.path)} if cfg.path else {})}
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(app_file),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            env=env,
        )
        _progress(f"app on http://127.0.0.1:{port} (pid {child.pid})")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            if child is not None and child.poll() is not None:
                console.print(f"[red]the app exited with code {child.returncode}[/red]")
                break
    finally:
        sched.shutdown(wait=False)
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait(timeout=15)


@app.command()
def schedule(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Show the scheduled jobs, their next runs, recent 'run now' requests and whether `serve` is alive."""
    from closedloop import scheduler

    cfg = _config(config)
    state = scheduler.scheduler_state(cfg)
    if as_json:
        out.print_json(json.dumps(state, default=str))
        return
    t = Table(title="scheduled jobs" + ("" if state["alive"] else " (scheduler not running)"))
    for col in ("job", "cron", "next run (UTC)", "sources"):
        t.add_column(col)
    stored = {j["id"]: j for j in state["jobs"]}
    for job_id, cron in state["configured"].items():
        j = stored.get(job_id, {})
        nxt = str(j.get("next_run_time") or "not yet stored: starts with `closedloop serve`")[:19]
        t.add_row(job_id, cron, nxt, ", ".join(j.get("sources") or []) or "all")
    out.print(t)
    for r in state["requests"][:5]:
        console.print(f"run-now #{r['id']} by {r['requested_by']}: {r['status']} {r['run_id'] or ''}")


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 2))
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
