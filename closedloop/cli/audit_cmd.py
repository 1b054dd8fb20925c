"""`closedloop audit`: who signed in, opened, exported, was refused and acted, from the ops store's audit."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from closedloop.cli import ConfigOpt, JsonOpt, _config, app, console, out

_DAYS = re.compile(r"^(\d{1,5})d$")


def parse_since(value: str, now: dt.datetime | None = None) -> dt.datetime:
    """`7d` (the last seven days) or `YYYY-MM-DD` (from that day's start, UTC) as a UTC timestamp."""
    now = now or dt.datetime.now(dt.UTC)
    text = value.strip()
    if m := _DAYS.match(text):
        return now - dt.timedelta(days=int(m.group(1)))
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is neither a number of days (7d) nor a date (YYYY-MM-DD)") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@app.command()
def audit(
    since: Annotated[
        str, typer.Option(help="How far back: a number of days (7d) or a date (YYYY-MM-DD, UTC).")
    ] = "7d",
    user: Annotated[str | None, typer.Option(help="Only this person (e-mail or name).")] = None,
    event: Annotated[
        list[str] | None,
        typer.Option(help="Only these events (repeat the option); 'workflow' for the case actions."),
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout (formula cells escaped).")] = False,
    limit: Annotated[int, typer.Option(help="At most this many events, newest first.")] = 10_000,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read the audit log: sign-ins, views of cases and traces, exports, refusals, run requests, workflow."""
    from closedloop import audit as auditmod

    try:
        start = parse_since(since)
    except ValueError as exc:
        console.print(f"[red]error:[/red] --since: {exc}")
        raise typer.Exit(2) from None
    known = [*auditmod.EVENTS, auditmod.WORKFLOW]
    unknown = [e for e in event or [] if e not in known]
    if unknown:
        console.print(f"[red]error:[/red] --event {unknown[0]!r}: not an event (events: {', '.join(known)})")
        raise typer.Exit(2)
    cfg = _config(config)
    rows = auditmod.AuditLog(cfg.ops_url).read(since=start, user=user, events=event or (), limit=limit)
    columns = ("at", "actor", "roles", "event", "subject", "detail")
    if as_csv:
        from closedloop.csvsafe import to_csv

        sys.stdout.buffer.write(to_csv(columns, ([r[c] for c in columns] for r in rows)))
        sys.stdout.flush()
        return
    if as_json:
        out.print_json(json.dumps([{c: r[c] for c in columns} for r in rows], default=str))
        return
    if not rows:
        console.print(f"No audit events since {start:%Y-%m-%d %H:%M} UTC match.")
        return
    t = Table(title=f"audit since {start:%Y-%m-%d %H:%M} UTC: {len(rows):,} events, newest first")
    for c in ("when (UTC)", "who", "roles", "event", "what", "detail"):
        # a time or an e-mail broken over two lines cannot be searched for or copied: the other columns wrap
        t.add_column(c, no_wrap=c in ("when (UTC)", "who"))
    for r in rows:  # people's input (a subject, a note) is shown as text, never as console markup
        t.add_row(
            f"{r['at']:%Y-%m-%d %H:%M:%S}",
            *(Text(str(r[c] or "")) for c in ("actor", "roles", "event", "subject")),
            Text(str(r["detail"] or "")[:200]),
        )
    out.print(t)
