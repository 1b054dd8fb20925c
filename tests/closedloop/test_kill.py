"""A run killed with SIGKILL at any point leaves the published warehouse intact, openable and current."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import polars as pl

from closedloop import settings
from closedloop.ops import OpsStore
from closedloop.warehouse import Warehouse

MAPPING = """
INSERT INTO canon.time_entry (time_entry_id, project_id, hours, work_date, source_system, source_id, snapshot_ts)
SELECT id, project, hours, CAST(d AS DATE), '${source}', id, _extracted_at FROM raw.${source}__timebill;
"""


def make_firm(tmp_path, files: int = 8, rows: int = 25_000):
    root = tmp_path / "erp"
    root.mkdir()
    for i in range(files):
        pl.DataFrame(
            {
                "id": [f"{i}-{j}" for j in range(rows)],
                "project": [str(j % 97) for j in range(rows)],
                "hours": ["7.5"] * rows,
                "d": ["2026-10-01"] * rows,
            }
        ).write_csv(root / f"timebill_{i:03d}.csv")
    (tmp_path / "map.sql").write_text(MAPPING)
    cfg = tmp_path / "closedloop.toml"
    cfg.write_text(
        "[sources.erp]\nkind = 'files'\npath = 'erp'\nstreams = {timebill = 'timebill_*.csv'}\nmapping = 'map.sql'\n"
    )
    return cfg


def start_run(cfg):
    return subprocess.Popen(
        [sys.executable, "-m", "closedloop.cli", "run", "--config", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def published_rows(cfg) -> tuple[str, int, str]:
    wh = Warehouse.at(settings.load(cfg).data_dir)
    con = wh.connect_published()
    try:
        rows = con.execute("SELECT count(*) FROM canon.time_entry").fetchone()[0]
        return wh.published()["run_id"], rows, con.execute("SELECT status FROM meta.run").fetchone()[0]
    finally:
        con.close()


def test_sigkill_at_any_point_never_hurts_the_published_run(tmp_path):
    cfg = make_firm(tmp_path)
    t0 = time.perf_counter()
    assert start_run(cfg).wait(timeout=300) == 0
    duration = time.perf_counter() - t0
    good_id, good_rows, _ = published_rows(cfg)
    assert good_rows == 8 * 25_000
    killed = 0
    for fraction in (0.15, 0.35, 0.55, 0.75, 0.9, 0.97):
        proc = start_run(cfg)
        time.sleep(duration * fraction)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        run_id, rows, status = published_rows(cfg)  # opens, reads, and still holds the whole data
        assert rows == good_rows
        # killed after its publish: the new run is current, and it is a complete one
        assert run_id == good_id or status == "ok"
        good_id = run_id
    assert killed >= 3
    # the lock died with the process: the next run proceeds, and the ledger says what happened
    assert start_run(cfg).wait(timeout=300) == 0
    statuses = [r["status"] for r in OpsStore(settings.load(cfg).ops_url).runs(50)]
    assert statuses.count("killed") >= 3 and statuses[0] == "ok"
