"""Score the checks against a generated firm's answer key: load the truth straight into canon, run, compare."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb
import polars as pl

from checks.loader import SCHEMA_SQL

from .firm.build import Firm

# canonical tables whose source_system names the record's origin, not the source that delivered it
_OWN_SOURCE = {"integration_event": "middleware"}


def as_of_of(firm: Firm) -> dt.date:
    """The firm's as_of date."""
    return dt.date.fromisoformat(str(firm.params["as_of"]))


def load_canon(firm: Firm, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """Canonical model straight from Firm.tables (no vendor round trip); snapshot_meta 'ok' at end of as_of."""
    con = con or duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(SCHEMA_SQL.read_text())
    as_of = as_of_of(firm)
    snap = dt.datetime.combine(as_of, dt.time(23, 59, 59), tzinfo=dt.UTC)
    canon_cols = {
        t: [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'canon' AND table_name = ? "
                "ORDER BY column_index",
                [t],
            ).fetchall()
        ]
        for t in firm.tables
    }
    for name, df in firm.tables.items():
        if name == "snapshot_meta" or not df.height:
            continue
        cols = [c for c in canon_cols[name] if c in df.columns]
        arrow = df.select(cols).to_arrow()  # noqa: F841 - read by DuckDB's replacement scan
        target = ", ".join(cols + (["snapshot_ts"] if "snapshot_ts" in canon_cols[name] else []))
        values = ", ".join(cols + (["?"] if "snapshot_ts" in canon_cols[name] else []))
        params = [snap] if "snapshot_ts" in canon_cols[name] else []
        con.execute(f"INSERT INTO canon.{name} ({target}) SELECT {values} FROM arrow", params)
    for name, cols in canon_cols.items():
        if name == "snapshot_meta" or "snapshot_ts" not in cols:
            continue
        if name in _OWN_SOURCE:
            sources = [_OWN_SOURCE[name]]
        elif "source_system" in cols:
            sources = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT source_system FROM canon.{name} WHERE source_system IS NOT NULL"
                ).fetchall()
            ]
        else:
            continue
        for src in sources:
            con.execute(
                "INSERT INTO canon.snapshot_meta SELECT ?, ?, ?, (SELECT count(*) FROM canon."
                + name
                + "), 'ok', NULL",
                [src, name, snap],
            )
    return con


def run(firm: Firm, con: duckdb.DuckDBPyConnection | None = None, run_id: str = "answer"):
    """Load the firm, run every check and the KPIs; returns (con, RunSummary)."""
    from checks.kpis import compute_kpis
    from checks.runner import run_checks

    con = load_canon(firm, con)
    summary = run_checks(con, run_id=run_id, as_of=as_of_of(firm))
    compute_kpis(con, run_id=run_id, as_of=as_of_of(firm))
    return con, summary


def findings(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """One row per (check, entity) with its amount at stake and second figure, as the run stored them."""
    return con.execute(
        "SELECT check_id, entity_type, entity_id, impact_rc, expected_loss_rc FROM results.finding WHERE run_id = ?",
        [run_id],
    ).pl()


@dataclass
class Score:
    """One check's findings against its answer-key rows."""

    check_id: str
    expected: int = 0
    found: int = 0
    missing: list[str] = field(default_factory=list)  # in the key, not found
    spurious: list[str] = field(default_factory=list)  # found, not in the key
    wrong_impact: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)  # (entity, found, key)
    # the second figure (expected loss / cost of the delay), where the key has one: (entity, found, key)
    wrong_expected: list[tuple[str, Decimal | None, Decimal | None]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return 1.0 if not self.found else (self.found - len(self.spurious)) / self.found

    @property
    def recall(self) -> float:
        return 1.0 if not self.expected else (self.expected - len(self.missing)) / self.expected

    @property
    def exact(self) -> bool:
        return not (self.missing or self.spurious or self.wrong_impact or self.wrong_expected)

    def explain(self, n: int = 5) -> str:
        """A readable failure message."""
        return (
            f"{self.check_id}: expected={self.expected} found={self.found} precision={self.precision:.3f} "
            f"recall={self.recall:.3f}; missing {self.missing[:n]}; spurious {self.spurious[:n]}; "
            f"$ differs (entity, found, key) {self.wrong_impact[:n]}; "
            f"expected_loss_rc differs (entity, found, key) {self.wrong_expected[:n]}"
        )


def _dec(x: object) -> Decimal | None:
    return None if x is None else Decimal(str(x))


def score(found: pl.DataFrame, key: pl.DataFrame, check_ids: list[str] | None = None) -> dict[str, Score]:
    """Per check: entity-set precision/recall, the amount at stake per entity to the cent and, where the key has
    the column (keys written before it do not), the second figure (expected_loss_rc) per entity to the cent, a
    missing figure included."""
    ids_ = sorted(set(key["check_id"]) | set(found["check_id"])) if check_ids is None else check_ids
    second = "expected_loss_rc" in key.columns
    if second and "expected_loss_rc" not in found.columns:
        found = found.with_columns(expected_loss_rc=pl.lit(None, pl.Decimal(18, 2)))
    out = {}
    for cid in ids_:
        k = {
            f"{r[0]}:{r[1]}": Decimal(r[2])
            for r in key.filter(pl.col("check_id") == cid)
            .select("entity_type", "entity_id", "impact_rc")
            .rows()
        }
        f = {
            f"{r[0]}:{r[1]}": Decimal(r[2] if r[2] is not None else 0)
            for r in found.filter(pl.col("check_id") == cid)
            .select("entity_type", "entity_id", "impact_rc")
            .rows()
        }
        s = Score(cid, expected=len(k), found=len(f))
        s.missing = sorted(set(k) - set(f))
        s.spurious = sorted(set(f) - set(k))
        s.wrong_impact = [(e, f[e], k[e]) for e in sorted(set(k) & set(f)) if f[e] != k[e]]
        if second:
            k2, f2 = (
                {
                    f"{r[0]}:{r[1]}": _dec(r[2])
                    for r in frame.filter(pl.col("check_id") == cid)
                    .select("entity_type", "entity_id", "expected_loss_rc")
                    .rows()
                }
                for frame in (key, found)
            )
            s.wrong_expected = [(e, f2[e], k2[e]) for e in sorted(set(k2) & set(f2)) if f2[e] != k2[e]]
        out[cid] = s
    return out
