"""The exception pack for the month-end close: `closedloop pack --period 2026-10`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from closedloop.cli import ConfigOpt, JsonOpt, _config, _published, app, console, out
from closedloop.cli.explore import AsOpt, as_role


@app.command()
def pack(
    period: Annotated[
        str, typer.Option(help="The month, YYYY-MM (e.g. 2026-10): cases whose break happened in it.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for pack-<period>.csv and .html.")] = Path(
        "."
    ),
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    as_role_name: AsOpt = None,
) -> None:
    """Write the period's open and resolved cases, with evidence and audit trail, as CSV and one HTML file."""
    from closedloop import pack as pmod

    try:
        pmod.parse_period(period)
    except pmod.PackError as exc:
        console.print(f"[red]error:[/red] --period: {exc}")
        raise typer.Exit(2) from None
    cfg = _config(config)
    who = as_role(cfg, as_role_name, action="export")
    con = _published(cfg)
    try:
        result = pmod.build_pack(
            con, period, cfg.ops_url, currency=cfg.get("closedloop", "reporting_currency"), who=who
        )
    except pmod.PackError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    finally:
        con.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"pack-{result.period}.csv"
    html_path = out_dir / f"pack-{result.period}.html"
    csv_path.write_bytes(result.csv)
    html_path.write_text(result.html, encoding="utf-8")
    totals = pmod.summary(result)
    if as_json:
        doc = {"period": result.period, "run_id": result.run_id, "cases": len(result.cases), "csv": str(csv_path),
               "html": str(html_path), "kinds": totals}  # fmt: skip
        out.print_json(json.dumps(doc, default=str))
        return
    out.print(f"exception pack {result.period} (run {result.run_id}, business date {result.as_of}): "
              f"{len(result.cases):,} cases")  # fmt: skip
    for kind, per in totals.items():
        line = " · ".join(
            f"{group} {row['cases']:,}"
            + (f" ({_amount(row['amount_rc'])} {result.currency})" if "amount_rc" in row else "")
            for group, row in per.items()
        )
        out.print(f"  {kind}: {line}")
    out.print(f"wrote {csv_path} and {html_path}")


def _amount(value) -> str:
    """An amount for the terminal; a masked one (`--as` a role that masks amounts) stays masked."""
    return value if isinstance(value, str) else f"{value:,.2f}"
