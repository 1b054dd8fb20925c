"""Onboarding a firm: `closedloop discover SOURCE` shows what the source has and drafts its config section."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from closedloop import settings as cfgmod
from closedloop.cli import ConfigOpt, _config, app, console, out
from closedloop.redact import redact


@app.command()
def discover(
    source: Annotated[str, typer.Argument(help="Source key, as in [sources.<key>].")],
    config: ConfigOpt = None,
    write: Annotated[
        Path | None,
        typer.Option("--write", help="Write the draft TOML to this new file (never over an existing one)."),
    ] = None,
) -> None:
    """Introspect a source (fields, tables, values) against what closedloop wants, and draft its config."""
    from closedloop import discover as disc
    from collectors.base import CollectorError

    cfg = _config(config)
    if source not in cfg.sources:
        where = cfg.path or "the default config"
        console.print(f"[red]error:[/red] no [sources.{escape(source)}] in {where}")
        raise typer.Exit(2)
    if write is not None and write.exists():  # checked before any call: a draft never replaces a file
        console.print(
            f"[red]error:[/red] {write} exists; discover writes a new file only (choose another name)"
        )
        raise typer.Exit(2)
    try:
        report = disc.run(source, cfg.sources[source], lambda name: cfgmod.secret(source, name))
    except (CollectorError, cfgmod.ConfigError) as exc:
        console.print(f"[red]error:[/red] {escape(redact(str(exc)))}")
        raise typer.Exit(1) from None
    t = Table(title=f"discover {source} ({report.kind}, transport {report.transport})")
    for col in ("stream", "wanted [setting]", "status", "name", "evidence"):
        t.add_column(col, overflow="fold")
    colors = {"found": "green", "proposed": "yellow", "absent": "red"}
    for stream, wanted, status, name, evidence in disc.lines(report):
        t.add_row(stream, escape(wanted), f"[{colors[status]}]{status}[/]", escape(name), escape(evidence))
    console.print(t)
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    text = disc.draft(report, cfg.sources[source])
    if write is None:
        out.print(text, markup=False, highlight=False, end="")
        return
    with write.open("x", encoding="utf-8") as fh:  # 'x': fails rather than replace a file made meanwhile
        fh.write(text)
    console.print(f"draft written to {write}")
