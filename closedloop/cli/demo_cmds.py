"""The demo firm, the vendor sandbox and the benchmark."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from closedloop import settings as cfgmod
from closedloop.cli import (
    JsonOpt,
    _config,
    _print_report,
    _progress,
    _published,
    _run_or_exit,
    app,
    console,
    out,
)


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
    data_fault: Annotated[
        list[str] | None,
        typer.Option(
            "--data-fault",
            help="Break the exports before collecting: null_keys, duplicate_keys, unmapped_status, "
            "dropped_column, stale, volume_collapse (repeatable).",
        ),
    ] = None,
    profile_name: Annotated[
        str,
        typer.Option(
            "--profile",
            # the names as closedloop/demo/profiles.py has them (importing it here would load the collectors)
            help="Estate profile: which systems the firm runs and how they are configured (default, custom-names,"
            " own-words, lean, modeling-variants, business-keys, charge-billing, clm-milestones, oracle,"
            " dynamics-project, dynamics, sap, docusign, icertis, icertis-files, conga, dynamics-docusign,"
            " conga-sap, oracle-icertis, oracle-icertis-files); the config written matches it.",
        ),
    ] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Generate a demo firm, collect its exports through the real collectors, and show what breaks."""
    _allocator_returns_memory()
    from closedloop import pipeline
    from closedloop.demo import generate_firm, write_demo
    from closedloop.demo.config import write_demo_config
    from closedloop.demo.profiles import profile as estate_profile

    if tier not in ("s", "m", "l"):
        console.print(f"[red]error:[/red] --tier must be s, m or l, not {tier!r}")
        raise typer.Exit(2)
    try:
        estate = estate_profile(profile_name)
    except ValueError as exc:
        console.print(f"[red]error:[/red] --profile: {exc}")
        raise typer.Exit(2) from None
    t0 = time.perf_counter()
    _progress(f"generating a tier-{tier} firm (seed {seed})")
    firm = generate_firm(tier, seed, people=people)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_demo(firm, out_dir, estate)
    # the exports on disk are all the rest needs: the firm's frames (GBs at tier l) go before the pipeline runs
    as_of = firm.params["as_of"]
    del firm
    if data_fault:
        from closedloop.demo.data_faults import DataFaultError, apply

        try:
            for line in apply(out_dir / "exports", data_fault):
                _progress(f"data fault {line}")
        except DataFaultError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    t_gen = time.perf_counter() - t0
    sections = estate.config_sections()
    # files transport: later runs need no sandbox
    cfg_path = write_demo_config(out_dir, as_of, sections=sections, systems=estate.systems)
    if transport == "api":
        from closedloop.sandbox.demo import through_sandbox

        with through_sandbox(out_dir, as_of, sections=sections, systems=estate.systems) as (
            sandbox_cfg,
            sandbox,
        ):
            _progress(f"collecting {', '.join(estate.systems)} through the sandbox at {sandbox.base_url}")
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
        raise typer.Exit(report.exit_code)
    if serve_app and not as_json:
        console.print(f"serving the app: [bold]http://127.0.0.1:{port}[/bold]  (Ctrl-C to stop)")
        from closedloop.cli.operate import serve

        serve(config=cfg_path, port=port, no_app=False)


def _allocator_returns_memory() -> None:
    """Have polars' allocator (jemalloc) hand freed pages back to the OS within a second, from a thread.

    By default freed pages linger (and stay resident while polars idles), so the generator's transients would
    still count against the pipeline that follows. jemalloc reads this once, when polars loads: it must be set
    before the first polars import in this process (the CLI imports none before the command runs), and a value
    the user set wins.
    """
    if "polars" not in sys.modules:
        os.environ.setdefault(
            "_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"
        )


def _print_headline(cfg: cfgmod.Config, top: int = 10) -> None:
    """The demo's last word: what the checks found, money per kind from cases, the largest breaks, the KPIs."""
    from closedloop import findings as fmod
    from closedloop.cli.explore import findings_table

    con = _published(cfg)
    try:
        rows, count, _ = fmod.query(con, fmod.Filters(limit=top))
        cases = fmod.case_totals(con)
        kpis = con.execute(
            "SELECT kpi_id, name, value, unit FROM results.kpi WHERE run_id = (SELECT max(run_id) FROM results.kpi)"
            " AND slice_kind = 'total' ORDER BY kpi_id, name"
        ).fetchall()
    finally:
        con.close()
    out.print(findings_table(rows, f"top {len(rows)} of {count:,} findings", workflow=False))
    if cases:  # money counted once per break, each kind on its own: the kinds are never added up
        out.print(f"at stake, each case counted once: {fmod.kinds_line(cases, 'cases')}")
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
    profile_name: Annotated[
        str,
        typer.Option(
            "--profile",
            help="Estate profile of the firm generated when DIR has no exports (as in `closedloop demo`).",
        ),
    ] = "default",
) -> None:
    """Serve a demo firm through the vendors' own APIs (Salesforce, NetSuite, Ironclad) on 127.0.0.1."""
    from closedloop.demo.profiles import profile as estate_profile
    from closedloop.sandbox import KINDS, FaultError, Sandbox, ensure_exports, parse_fault

    try:
        faults = [parse_fault(f) for f in fault or []]
        estate = estate_profile(profile_name)
    except (FaultError, ValueError) as exc:
        kinds = "; ".join(f"{k}: {doc}" for k, (_, doc) in KINDS.items())
        hint = f"\nfault kinds — {kinds}" if isinstance(exc, FaultError) else ""
        console.print(f"[red]error:[/red] {exc}{hint}")
        raise typer.Exit(2) from None
    suffix = "" if profile_name == "default" else f"-{profile_name}"
    directory = directory or Path(f"data/sandbox/{tier}-{seed}{suffix}")
    root = ensure_exports(directory, tier, seed, say=_progress, profile=estate)
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
    people: Annotated[int | None, typer.Option(help="Headcount, overriding the tier's.")] = None,
    repeat: Annotated[int, typer.Option(help="Repeats of each measured stage: median, min and max.")] = 3,
    stages: Annotated[
        str,
        typer.Option(
            help="Comma-separated stages (default all): generate,pipeline,http,checks,engines,baselines,queue,pages,load."
        ),
    ] = "",
    scale: Annotated[
        str, typer.Option(help="Comma-separated headcounts (e.g. 200,5000,30000): growth exponent per stage.")
    ] = "",
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 42,
    sessions: Annotated[int, typer.Option(help="Concurrent app sessions of the load stage.")] = 50,
    work: Annotated[
        Path | None, typer.Option(help="Work directory, kept (default: a temp dir, removed).")
    ] = None,
    write_docs: Annotated[
        bool, typer.Option("--write-docs", help="Keep the results in docs/bench/ and the README's table.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Time each stage (wall, CPU, peak RSS, rows/s) against the baselines and targets (timings live here)."""
    import shutil
    import tempfile

    from closedloop import bench as benchmod
    from closedloop import bench_report

    names = [s for s in stages.split(",") if s] or list(benchmod.STAGES)
    unknown = [s for s in names if s not in benchmod.STAGES]
    if tier not in ("s", "m", "l") or repeat < 1 or unknown:
        console.print(
            f"[red]error:[/red] --tier must be s, m or l; --repeat at least 1; stages are {', '.join(benchmod.STAGES)}"
        )
        raise typer.Exit(2)
    try:
        sizes = [int(n) for n in scale.split(",") if n.strip()]
        if any(n < 1 for n in sizes):
            raise ValueError
    except ValueError:
        console.print(f"[red]error:[/red] --scale takes headcounts such as 200,5000,30000, not {scale!r}")
        raise typer.Exit(2) from None
    root = work or Path(tempfile.mkdtemp(prefix=f"closedloop-bench-{tier}-"))
    try:
        if sizes:
            runs = []
            for n in sizes:
                _progress(f"bench at {n:,} people")
                b = benchmod.Bench(
                    bench_report.tier_for(n), root / f"people-{n}", n, repeat, seed, sessions=sessions
                )
                runs.append(bench_report.summarise(b, benchmod.run_bench(b, names, _progress)))
            doc = {"scale": bench_report.scaling(runs), "runs": runs}
        else:
            b = benchmod.Bench(tier, root, people, repeat, seed, sessions=sessions)
            doc = bench_report.summarise(b, benchmod.run_bench(b, names, _progress))
    finally:
        if work is None:
            shutil.rmtree(root, ignore_errors=True)
    if write_docs:
        for path in bench_report.write_docs(doc):
            _progress(f"wrote {path}")
    if as_json:
        out.print_json(json.dumps(doc, default=str))
    else:
        bench_report.print_tables(out, doc)
