"""Findings of the published run, filtered in DuckDB with bound parameters (the CLI's queue).

Amounts are one kind's each (leakage, exposure, cash; compliance has only an amount affected, never money at
stake) and are never added across kinds. A finding list counts findings per kind; money counted once per break
comes from cases (case_totals).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from closedloop.csvsafe import to_csv as safe_csv

COLUMNS = (
    "finding_key", "check_id", "severity", "status", "owner_team", "impact_kind", "impact_rc", "expected_loss_rc",
    "entity_type", "entity_id", "correlation_id", "client_id", "legal_entity_id", "case_key", "first_seen_at",
    "last_seen_at",
)  # fmt: skip
KINDS = ("leakage", "exposure", "cash", "compliance")
MONEY_KINDS = ("leakage", "exposure", "cash")
# kind -> (amount column of results.cases, its second figure's column)
CASE_AMOUNTS = {"leakage": ("leakage_rc", "leakage_expected_rc"), "exposure": ("exposure_rc", None),
                "cash": ("cash_rc", "cash_cost_rc")}  # fmt: skip


@dataclass
class Filters:
    """What a person narrows the queue by; every value is bound, never spliced into SQL."""

    check: str | None = None
    severity: str | None = None
    owner: str | None = None
    client: str | None = None
    min_impact: Decimal | None = None
    limit: int = 50
    kind: str | None = None


def query(
    con: duckdb.DuckDBPyConnection, f: Filters
) -> tuple[list[dict[str, Any]], int, dict[str, dict[str, Any]]]:
    """The matching findings by amount, their count, and per kind: findings and amount (compliance: no amount)."""
    where, params = ["1 = 1"], []
    if f.check:
        where.append("upper(check_id) = upper(?)")
        params.append(f.check)
    if f.severity:
        where.append("severity = upper(?)")
        params.append(f.severity)
    if f.owner:
        where.append("owner_team ILIKE ?")
        params.append(f"%{f.owner}%")
    if f.client:
        where.append("client_id = ?")
        params.append(f.client)
    if f.kind:
        where.append("impact_kind = lower(?)")
        params.append(f.kind)
    if f.min_impact is not None:
        where.append("coalesce(impact_rc, 0) >= ?")
        params.append(f.min_impact)
    run = "run_id = (SELECT max(run_id) FROM results.finding)"
    cond = f"{run} AND " + " AND ".join(where)
    by_kind = {
        kind: {"findings": n, "amount_rc": Decimal(amount) if kind in MONEY_KINDS else None}
        for kind, n, amount in con.execute(
            f"SELECT impact_kind, count(*), coalesce(sum(impact_rc), 0) FROM results.finding WHERE {cond} "
            "GROUP BY impact_kind ORDER BY impact_kind",
            params,
        ).fetchall()
    }
    rows = con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM results.finding WHERE {cond}"
        " ORDER BY impact_rc DESC NULLS LAST, check_id, entity_id LIMIT ?",
        [*params, f.limit],
    ).fetchall()
    count = sum(v["findings"] for v in by_kind.values())
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows], count, by_kind


def case_totals(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The latest run's money per kind from its cases (each break counted once); compliance as a case count."""
    has = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'results' AND table_name = 'cases'"
    ).fetchone()[0]
    if not has:
        return {}
    run = "run_id = (SELECT max(run_id) FROM results.cases)"
    out: dict[str, dict[str, Any]] = {}
    for kind, (col, second) in CASE_AMOUNTS.items():
        n, amount, extra = con.execute(
            f"SELECT count({col}), coalesce(sum({col}), 0), {f'sum({second})' if second else 'NULL'} "
            f"FROM results.cases WHERE {run}"
        ).fetchone()
        out[kind] = {"cases": n, "amount_rc": Decimal(amount), "second_rc": extra}
    (n,) = con.execute(
        f"SELECT count(*) FROM results.cases WHERE {run} AND compliance_findings > 0"
    ).fetchone()
    out["compliance"] = {"cases": n, "amount_rc": None, "second_rc": None}
    return out


def kinds_line(by_kind: dict[str, dict[str, Any]], noun: str) -> str:
    """'leakage $1,234.50 (3 cases) · … · compliance 2 cases': each kind apart, never a total across kinds."""
    parts = []
    for kind in KINDS:
        v = by_kind.get(kind)
        if not v:
            continue
        n = v.get(noun, 0)
        count = f"{n:,} {noun if n != 1 else noun.rstrip('s')}"
        parts.append(
            f"{kind} ${v['amount_rc']:,.2f} ({count})"
            if v.get("amount_rc") is not None
            else f"{kind} {count}"
        )
    return " · ".join(parts) or f"no {noun}"


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV; a text cell that would start a spreadsheet formula is written as text."""
    return safe_csv(COLUMNS, ([r.get(c) for c in COLUMNS] for r in rows)).decode("utf-8")
