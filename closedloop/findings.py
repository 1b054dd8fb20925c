"""Findings of the published run, filtered in DuckDB with bound parameters (the CLI's queue)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

COLUMNS = (
    "finding_key", "check_id", "severity", "status", "owner_team", "impact_rc", "entity_type", "entity_id",
    "correlation_id", "client_id", "legal_entity_id", "first_seen_at", "last_seen_at",
)  # fmt: skip


@dataclass
class Filters:
    """What a person narrows the queue by; every value is bound, never spliced into SQL."""

    check: str | None = None
    severity: str | None = None
    owner: str | None = None
    client: str | None = None
    min_impact: Decimal | None = None
    limit: int = 50


def query(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[list[dict[str, Any]], int, Decimal]:
    """The matching findings by $ impact, plus the total count and $ of everything that matches."""
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
    if f.min_impact is not None:
        where.append("coalesce(impact_rc, 0) >= ?")
        params.append(f.min_impact)
    run = "run_id = (SELECT max(run_id) FROM results.finding)"
    cond = f"{run} AND " + " AND ".join(where)
    count, total = con.execute(
        f"SELECT count(*), coalesce(sum(impact_rc), 0) FROM results.finding WHERE {cond}", params
    ).fetchone()
    rows = con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM results.finding WHERE {cond}"
        " ORDER BY impact_rc DESC NULLS LAST, check_id, entity_id LIMIT ?",
        [*params, f.limit],
    ).fetchall()
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows], count, Decimal(total)


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
