"""Operating closedloop: serve the app with the scheduler, and show the schedule."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from closedloop import settings as cfgmod
from closedloop.cli import (
    ConfigOpt,
    JsonOpt,
    _config,
    _progress,
    app,
    config_error,
    console,
    out,
)


@app.command()
def serve(
    config: ConfigOpt = None,
    port: Annotated[int, typer.Option(help="Port of the Streamlit app.")] = 8501,
    address: Annotated[
        str,
        typer.Option(
            help="Address the app listens on. Without sign-in ([auth] in .streamlit/secrets.toml) only "
            "127.0.0.1, ::1 or localhost: the app refuses to start on any other."
        ),
    ] = "127.0.0.1",
    no_app: Annotated[bool, typer.Option("--no-app", help="Run only the scheduler.")] = False,
) -> None:
    """Serve the app and the scheduler (cron runs, 'run now' requests) in one process tree."""
    import signal
    import subprocess
    import threading

    from closedloop import scheduler
    from closedloop.ops import open_reconciled

    scheduler.configure_logging()  # one line per run outcome on stderr: WARNING failed/partial, INFO ok
    cfg = _config(config)
    open_reconciled(cfg)  # what killed runs left: the ledger made true, their files cleared
    try:
        sched = scheduler.start(cfg)  # validates crons, webhook destinations and retry settings first
    except cfgmod.ConfigError as exc:
        config_error(exc)
    for job in scheduler.scheduler_state(cfg)["jobs"]:
        _progress(f"scheduled {job['id']}: {job['trigger']}, next {job['next_run_time']}")
    child = None
    if not no_app:
        from closedloop import appserver

        env = {**os.environ, **({cfgmod.ENV_CONFIG: str(cfg.path)} if cfg.path else {})}
        child = subprocess.Popen(appserver.command(port, address), cwd=appserver.ROOT, env=env)
        host = f"[{address}]" if ":" in address else address
        _progress(f"app on http://{host}:{port} (pid {child.pid})")
    stop = threading.Event()
    failed = 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            if child is not None and child.poll() is not None:
                console.print(f"[red]the app exited with code {child.returncode}[/red]")
                failed = child.returncode or 1
                break
    finally:
        sched.shutdown(wait=False)
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait(timeout=15)
    if failed:  # e.g. local mode refused a non-loopback address (appserver.BIND_REFUSED)
        raise typer.Exit(failed)


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
    news = state.get("status") or {}
    if news.get("config_error"):  # serve runs on its last good config meanwhile
        console.print(
            f"[red]config stopped parsing[/red] since {news['config_error_since']}: {escape(news['config_error'])}"
        )
    if news.get("status"):
        why = f": {news['reason']}" if news.get("reason") else ""
        console.print(
            escape(f"last scheduler run {news['run_id']} ({news['trigger']}): {news['status']}{why}")
            + (f" · {escape(news['retry'])}" if news.get("retry") else "")
        )
