"""Data contracts: GX suites derived from stream declarations and config, run on every pipeline run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import duckdb

from checks.observations import CONTRACT_DDL
from closedloop import settings as cfgmod

COLUMNS = [
    "run_id",
    "source",
    "stream",
    "expectation",
    "column_name",
    "success",
    "severity",
    "unexpected_count",
    "element_count",
    "sample_failing_keys",
    "exception",
    "kind",
    "label",
]

__all__ = ["CONTRACT_DDL", "ContractOutcome", "run_contracts"]


@dataclass
class ContractOutcome:
    """What one layer of contracts found: every expectation's row, and the sources failed by critical ones."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    critical: dict[str, list[str]] = field(default_factory=dict)  # source -> one-line reasons
    errors: list[str] = field(default_factory=list)  # expectations that errored (GX exception_info)
    seconds: float = 0.0

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if not r["success"]]


def _missing_fields(con: duckdb.DuckDBPyConnection, run_id: str, source: str) -> dict[str, set[str]]:
    rows = con.execute(
        "SELECT stream, missing_fields FROM meta.source_run WHERE run_id = ? AND source = ?", [run_id, source]
    ).fetchall()
    return {stream: {f for f in (m or "").split(",") if f} for stream, m in rows}


def _absent_streams(con: duckdb.DuckDBPyConnection, run_id: str, source: str) -> set[str]:
    """Streams the estate lacks this run: their raw tables are empty by design, so no raw contract applies."""
    rows = con.execute(
        "SELECT stream FROM meta.source_run WHERE run_id = ? AND source = ? AND status = 'absent'",
        [run_id, source],
    ).fetchall()
    return {r[0] for r in rows}


def _table_sources(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    try:
        return [
            r[0] for r in con.execute(f"SELECT DISTINCT source_system FROM {relation}").fetchall() if r[0]
        ]
    except duckdb.Error:
        return []


def run_contracts(
    con: duckdb.DuckDBPyConnection,
    cfg: cfgmod.Config,
    *,
    run_id: str,
    layer: str,
    sources: list[str] = (),
) -> ContractOutcome:
    """Validate the raw streams of `sources` (layer 'raw') or the canonical model (layer 'canon'); store rows."""
    from closedloop.contracts.gxrun import validate_targets
    from closedloop.contracts.rules import canon_targets, raw_targets

    started = time.perf_counter()
    out = ContractOutcome()
    con.execute(CONTRACT_DDL)
    if not cfg.get("contracts", "enabled"):
        return out
    if layer == "raw":
        targets = [
            t
            for s in sources
            for t in raw_targets(con, cfg, s, _missing_fields(con, run_id, s))
            if t.stream not in _absent_streams(con, run_id, s)
        ]
    else:
        targets = canon_targets(con, cfg)
    if not any(t.rules for t in targets):
        return out
    keep = cfg.get("contracts", "sample_keys")
    out.rows = validate_targets(con, targets, sample_keys=keep)
    for row in out.rows:
        row["run_id"] = run_id
        if row["exception"]:  # could not be evaluated: says nothing about the data, so it never gates
            out.errors.append(
                f"contract {row['stream']}: {row['label']} could not run: {row['exception'][:200]}"
            )
            continue
        if row["success"] or row["severity"] != "critical":
            continue
        if row["source"] == "canon":
            blamed = sorted({s["source_system"] for s in row["samples"] if s.get("source_system")})
            blamed = blamed or _table_sources(con, row["stream"])
        else:
            blamed = [row["source"]]
        what = (
            f"{row['unexpected_count']:,} of {row['element_count']:,} rows"
            if row["unexpected_count"]
            else "fails"
        )
        reason = what
        for src in blamed:
            out.critical.setdefault(src, []).append(f"contract {row['stream']}: {row['label']}: {reason}")
    for row in out.rows:
        row["samples"] = row["samples"][:keep]
        row["sample_failing_keys"] = _json(row["samples"])
    con.executemany(
        f"INSERT INTO results.contract_result ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [[r[c] for c in COLUMNS] for r in out.rows],
    )
    out.seconds = time.perf_counter() - started
    return out


def _json(samples: list) -> str:
    import json

    return json.dumps(samples, default=str)
