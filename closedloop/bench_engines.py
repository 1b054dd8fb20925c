"""Benchmark body for the engines stage: all checks and KPIs of a published run on one engine.

Run as `python -m closedloop.bench_engines WAREHOUSE.duckdb ENGINE [URL]` (ENGINE: duckdb, postgres or spark;
the password or token in CLOSEDLOOP_ENGINE_PASSWORD); prints JSON. Beside the wall time of the checks and the KPIs
it reports what only another engine costs, separately: the data sent to it (the canonical model, its seconds and
bytes), the rows brought back, and the SQLGlot transpile time.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb


def main(path: str, kind: str, url: str = "") -> dict:
    from checks.kpis import compute_kpis
    from checks.remote import Remote
    from checks.runner import run_checks
    from closedloop.engines import open_engine

    remote = None
    t_connect = time.perf_counter()
    if kind != "duckdb":
        password = os.environ.get("CLOSEDLOOP_ENGINE_PASSWORD")
        remote = Remote(open_engine(kind, url, password), password=password, work_schema="closedloop_bench")
    connect_seconds = time.perf_counter() - t_connect
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench.duckdb"
        shutil.copy(path, copy)
        con = duckdb.connect(str(copy))
        con.execute("SET TimeZone = 'UTC'")
        as_of = con.execute("SELECT max(as_of) FROM meta.run").fetchone()[0]
        ccy = con.execute("SELECT any_value(reporting_currency) FROM meta.run").fetchone()[0] or "USD"
        t0 = time.perf_counter()
        summary = run_checks(con, run_id="bench", as_of=as_of, reporting_ccy=ccy, remote=remote)
        t1 = time.perf_counter()
        compute_kpis(con, run_id="bench", as_of=as_of, reporting_ccy=ccy, remote=remote)
        t2 = time.perf_counter()
        canon_rows = sum(
            con.execute(f"SELECT count(*) FROM canon.{t}").fetchone()[0]
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'canon'"
            ).fetchall()
        )
        con.close()
    if remote is not None:
        remote.engine.close()
    moved = remote.movement.as_dict() if remote else {}
    return {
        "engine": kind,
        "checks_seconds": round(t1 - t0, 2),
        "kpis_seconds": round(t2 - t1, 2),
        "total_seconds": round(t2 - t0, 2),
        "connect_seconds": round(connect_seconds, 2),
        # inside total: sending the model (and the findings the KPIs read) and transpiling
        "send_seconds": moved.get("seconds_out", 0.0),
        "transpile_seconds": moved.get("transpile_seconds", 0.0),
        "bytes_out": moved.get("bytes_out", 0),
        "rows_out": moved.get("rows_out", 0),
        "rows_back": moved.get("rows_back", 0),
        "bytes_back": moved.get("bytes_back", 0),
        "checks": len(summary.results),
        "errors": {r.check_id: r.error for r in summary.results if r.status == "error"},
        "findings": summary.findings,
        "canon_rows": canon_rows,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4]), default=str))
