"""Looking at what a run found: the findings queue and the trace of one flow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from closedloop.cli import (
    ConfigOpt,
    JsonOpt,
    _config,
    _published,
    app,
    console,
    out,
)

AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="ROLE",
        help="Print what this role would see ([access] masking); refused when the role has no right to it.",
    ),
]


def as_role(cfg, role: str | None, *, pages: tuple[str, ...] = (), action: str | None = None):
    """The CLI's `--as ROLE` principal (None without it: the operator on the machine sees everything); a role
    that may open none of `pages`, or may not do `action`, is refused with exit 2 naming the role."""
    if role is None:
        return None
    from closedloop import access

    try:
        who = access.policy(cfg.values.get("access", {})).as_role(role)
    except access.AccessError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if pages and not any(who.can_see(p) for p in pages):
        console.print(f"[red]error:[/red] --as {role}: the {role} role does not see {' or '.join(pages)}")
        raise typer.Exit(2)
    if action and not who.can(action):
        console.print(f"[red]error:[/red] --as {role}: the {role} role may not {action}")
        raise typer.Exit(2)
    return who


def _mask_totals(by_kind: dict, who) -> dict:
    """Per-kind totals with their amounts masked for `who` (the line then says amounts are masked)."""
    if who is None or not who.masks("amounts"):
        return by_kind
    return {k: {**v, "amount_rc": None, "second_rc": None} for k, v in by_kind.items()}


def _masked_note(who) -> str:
    from closedloop.access import MASKED

    return (
        f" · masked for {', '.join(sorted(who.roles))}: {', '.join(sorted(who.masked))} ({MASKED})"
        if who and who.masked
        else ""
    )


@app.command()
def findings(
    config: ConfigOpt = None,
    check_id: Annotated[str | None, typer.Option("--check", help="Check id, e.g. Q2C-010.")] = None,
    severity: Annotated[str | None, typer.Option(help="S1..S4.")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner team (substring).")] = None,
    client: Annotated[str | None, typer.Option(help="Client id.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Kind of money: leakage, exposure, cash or compliance.")
    ] = None,
    min_impact: Annotated[float | None, typer.Option("--min", help="Minimum amount.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show / export.")] = 50,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write the matching rows to a CSV file.")
    ] = None,
    as_json: JsonOpt = False,
    as_role_name: AsOpt = None,
) -> None:
    """List the published run's findings, largest amount first, each with its kind of money; filters and CSV."""
    from decimal import Decimal

    from closedloop import access
    from closedloop import findings as fmod

    if kind is not None and kind.lower() not in fmod.KINDS:
        console.print(f"[red]error:[/red] --kind {kind!r} is not one of {', '.join(fmod.KINDS)}")
        raise typer.Exit(2)
    cfg = _config(config)
    who = as_role(cfg, as_role_name, pages=("findings",))
    con = _published(cfg)
    flt = fmod.Filters(
        check_id,
        severity,
        owner,
        client,
        Decimal(str(min_impact)) if min_impact is not None else None,
        limit,
        kind,
    )
    try:
        rows, count, by_kind = fmod.query(con, flt)
        cases = fmod.case_totals(con)
    finally:
        con.close()
    if who is not None:
        rows = [{**access.mask_record(r, who), "details": access.mask_json(r.get("details"), who)} if "details" in r
                else access.mask_record(r, who) for r in rows]  # fmt: skip
        by_kind, cases = _mask_totals(by_kind, who), _mask_totals(cases, who)
    if csv_path:
        csv_path.write_text(fmod.to_csv(rows), encoding="utf-8")
        console.print(f"wrote {len(rows)} findings to {csv_path}")
    if as_json:
        doc = {"count": count, "by_kind": by_kind, "cases_by_kind": cases, "findings": rows}
        out.print_json(json.dumps(doc, default=str))
        return
    out.print(
        findings_table(
            rows,
            f"{count:,} findings (showing {len(rows)}) — {fmod.kinds_line(by_kind, 'findings')}{_masked_note(who)}",
        )
    )
    if cases:
        out.print(f"counted once per case: {fmod.kinds_line(cases, 'cases')}")


def findings_table(rows: list[dict], title: str, *, workflow: bool = True) -> Table:
    """Findings as the terminal shows them, largest amount first, each with its kind (the queue, the demo)."""
    t = Table(title=title)
    cols = ("check", "sev", "kind", "amount", "entity", "correlation")
    for col in (*cols, "owner", "status") if workflow else cols:
        t.add_column(col)
    for r in rows:
        amount = r["impact_rc"] if isinstance(r["impact_rc"], str) else f"{r['impact_rc'] or 0:,.2f}"
        if r.get("impact_kind") == "compliance":
            amount += " affected"  # a compliance amount is what a broken control touches, not money at stake
        cells = [r["check_id"], r["severity"], r.get("impact_kind") or "", amount,
                 f"{r['entity_type']} {r['entity_id']}", r["correlation_id"] or "—"]  # fmt: skip
        t.add_row(*cells, *((r["owner_team"] or "", r["status"] or "") if workflow else ()))
    return t


FORMATS = ("table", "md", "json")
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="table (the terminal), md (a summary to paste into a ticket) or json (the same, for a script).",
    ),
]


@app.command()
def trace(
    any_id: Annotated[str, typer.Argument(metavar="ID")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "table",
    as_role_name: AsOpt = None,
) -> None:
    """Follow one commercial flow from any ID (correlation, opportunity, SOW, project, invoice no., event):
    where it broke, each integration event's state, its cases; exit 2 when the ID matches nothing."""
    from closedloop import access, trace_lookup
    from closedloop import trace as tmod
    from closedloop import trace_summary as ts

    fmt = "json" if as_json else fmt.strip().lower()
    if fmt not in FORMATS:
        console.print(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    cfg = _config(config)
    who = as_role(cfg, as_role_name, pages=("trace",))
    currency = cfg.get("closedloop", "reporting_currency")

    def seen(record: dict) -> dict:
        return record if who is None else {**access.mask_record(record, who), **(
            {"details": access.mask_json(record["details"], who)} if "details" in record else {})}  # fmt: skip

    con = _published(cfg)
    try:
        flows, matches = tmod.lookup(con, any_id)
        if not flows and not matches:  # the forgiving lookup, as the app's: case, dashes, 15-char SF IDs
            found = trace_lookup.find(con, any_id)
            flows = found.flows
            matches = [
                tmod.Match(h.lane, h.entity_type, h.entity_id, h.correlation_id)
                for h in found.hits
                if h.entity_type != "flow"
            ]
        docs, summaries = [], []
        for cid in flows:
            records = tmod.timeline(con, cid)
            found = tmod.findings(con, cid)
            flow = ts.summarize(con, cid, records, found)
            flow.cases = [seen(c) for c in flow.cases]
            summaries.append(flow)
            docs.append(
                {
                    "correlation_id": cid,
                    **ts.FlowSummary.to_dict(flow),
                    "timeline": [
                        {
                            "lane": r.lane,
                            "entity_type": r.entity_type,
                            "entity_id": r.entity_id,
                            "ts": r.ts,
                            "fields": seen(r.fields),
                        }
                        for r in records
                    ],
                    "findings": [seen(f) for f in found],
                    "parent_flows": ts.parent_flows(found),
                }
            )
    finally:
        con.close()
    if not docs and not matches:
        console.print(
            f"nothing in the published run matches {tmod.clean_id(any_id)!r}: try a correlation ID, an "
            "opportunity, contract, SOW or project ID, an invoice number or an integration event ID"
        )
        raise typer.Exit(2)
    if fmt == "json":
        out.print_json(
            json.dumps(
                {"query": any_id, "matches": [m.__dict__ for m in matches], "flows": docs}, default=str
            )
        )
        return
    if not docs:
        for m in matches:
            out.print(
                f"{m.lane:<10} {m.entity_type:<18} {m.entity_id}  (no correlation ID: unresolved flow)",
                markup=False,
            )
        return
    if fmt == "md":
        typer.echo(f"Trace of `{tmod.clean_id(any_id)}`: {len(docs)} flow{'s' * (len(docs) != 1)}\n")
        for flow, doc in zip(summaries, docs, strict=True):
            typer.echo(ts.to_markdown(flow, currency))
            for parent in doc["parent_flows"]:
                typer.echo(f"Parent flow named in the evidence: `{parent}`\n")
        return
    for flow, doc in zip(summaries, docs, strict=True):
        out.print(f"where it broke: {flow.line(markdown=False)}", markup=False)
        for e in flow.events:
            if e.state != ts.DELIVERED:
                out.print(f"  event {e.key} → {e.target_system}: {e.label}", markup=False)
        t = Table(title=f"flow {doc['correlation_id']}")
        for col in ("when (UTC)", "system", "record", "id", "key fields"):
            t.add_column(col)
        for r in doc["timeline"]:
            keys = ", ".join(f"{k}={v}" for k, v in list(r["fields"].items())[:4] if v is not None)
            t.add_row(str(r["ts"] or "")[:16], r["lane"], r["entity_type"], r["entity_id"], keys[:90])
        out.print(t)
        for f in doc["findings"]:
            amount = (
                f["impact_rc"] if isinstance(f.get("impact_rc"), str) else f"${f.get('impact_rc') or 0:,.2f}"
            )
            out.print(
                f"[red]⚑[/red] {f.get('check_id')} {f.get('severity')} {amount} "
                f"{f.get('entity_type')} {f.get('entity_id')}"
            )


@app.command()
def coverage(
    config: ConfigOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="List covered checks and KPIs too.")] = False,
    as_json: JsonOpt = False,
    as_role_name: AsOpt = None,
) -> None:
    """What the published run's data covers: each check and KPI covered, partly covered or not covered."""
    cfg = _config(config)
    # coverage holds no firm figures (check ids, settings): any role that sees a page showing it may run it
    as_role(cfg, as_role_name, pages=("overview", "checks_catalog", "data_health"))
    con = _published(cfg)
    try:
        has = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'results' AND table_name = 'coverage'"
        ).fetchone()[0]
        rows = (
            con.execute(
                "SELECT item_id, item_kind, status, not_judged, missing, settings FROM results.coverage"
                " WHERE run_id = (SELECT run_id FROM meta.run ORDER BY started_at DESC LIMIT 1)"
                " ORDER BY item_kind, item_id"
            ).fetchall()
            if has
            else []
        )
    finally:
        con.close()
    items = [
        {
            "id": r[0],
            "kind": r[1],
            "status": r[2],
            "not_judged": r[3],
            "missing": json.loads(r[4]),
            "settings": json.loads(r[5]),
        }
        for r in rows
    ]
    counts = {
        s: sum(1 for i in items if i["status"] == s) for s in ("covered", "partly covered", "not covered")
    }
    if as_json:
        out.print_json(json.dumps({**counts, "total": len(items), "items": items}))
        return
    if not items:
        console.print("the published run has no coverage record (it predates coverage): run `closedloop run`")
        return
    title = (
        f"{counts['covered']} of {len(items)} checks and KPIs covered, {counts['partly covered']} partly,"
        f" {counts['not covered']} not covered"
    )
    if not show_all and counts["covered"] == len(items):
        out.print(title + ": every input is filled and every value mapped")
        return
    table = Table(title=title)
    for col in ("id", "status", "what is missing", "set"):
        table.add_column(col)
    for i in items:
        if i["status"] == "covered" and not show_all:
            continue
        missing = "\n".join(i["missing"])
        if i["not_judged"]:
            missing += f"\n{i['not_judged']:,} findings not judged"
        table.add_row(i["id"], i["status"], missing, "\n".join(i["settings"]))
    out.print(table)
