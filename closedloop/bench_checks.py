"""Benchmark body for the checks stage: all checks and KPIs on a copy of a published warehouse.

Run as `python -m closedloop.bench_checks WAREHOUSE.duckdb [CONFIG.toml]`; prints JSON (wall, per-check durations).
The connection gets the run's DuckDB threads and memory limit ([warehouse] in the config), as a run's checks do.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb


def main(path: str, config: str | None = None) -> dict:
    from closedloop import settings

    cfg = settings.load(config)
    limits = {
        "threads": cfg.get("warehouse", "threads"),
        "memory_limit": cfg.get("warehouse", "memory_limit"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench.duckdb"
        shutil.copy(path, copy)
        con = duckdb.connect(str(copy), config=limits)
        con.execute("SET TimeZone = 'UTC'")
        as_of = con.execute("SELECT max(as_of) FROM meta.run").fetchone()[0]
        ccy = con.execute("SELECT any_value(reporting_currency) FROM meta.run").fetchone()[0] or "USD"
        from checks.kpis import compute_kpis
        from checks.runner import run_checks

        t0 = time.perf_counter()
        summary = run_checks(con, run_id="bench", as_of=as_of, reporting_ccy=ccy)
        t1 = time.perf_counter()
        compute_kpis(con, run_id="bench", as_of=as_of, reporting_ccy=ccy)
        t2 = time.perf_counter()
        rows = {
            t: con.execute(f"SELECT count(*) FROM canon.{t}").fetchone()[0]
            for t in ("time_entry", "invoice_line")
        }
        con.close()
    durations = sorted(((r.check_id, r.duration_ms) for r in summary.results), key=lambda x: -x[1])
    heaviest = durations[0] if durations else ("", 0.0)
    return {
        "checks_seconds": round(t1 - t0, 2),
        "kpis_seconds": round(t2 - t1, 2),
        "total_seconds": round(t2 - t0, 2),
        "checks": len(durations),
        "findings": summary.findings,
        "heaviest_check": heaviest[0],
        "heaviest_seconds": round(heaviest[1] / 1000, 2),
        "ratio_total_to_heaviest": round((t2 - t0) / (heaviest[1] / 1000), 2) if heaviest[1] else None,
        "top5": [{"check": c, "seconds": round(ms / 1000, 2)} for c, ms in durations[:5]],
        "rows": rows,
        **limits,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3]), default=str))
