"""A run under `closedloop serve` yields the CPU to the app (lower priority) and uses the served DuckDB limits."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb

from closedloop import runlimits, settings


def _nice(tid: int) -> int:
    # field 19 of /proc/<pid>/task/<tid>/stat (after the parenthesised command name) is the niceness
    stat = Path(f"/proc/self/task/{tid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def _config(tmp_path: Path, schedule: str) -> settings.Config:
    path = tmp_path / "closedloop.toml"
    path.write_text(f'[closedloop]\ndata_dir = "data"\n\n[schedule]\n{schedule}\n', encoding="utf-8")
    return settings.load(path)


def test_a_served_run_lowers_its_own_thread_and_the_duckdb_workers_it_starts(tmp_path):
    main_before = _nice(threading.get_native_id())  # tests may themselves run under nice
    target = min(19, main_before + 4)
    assert target > main_before, "the test process is already at the lowest priority"
    cfg = _config(tmp_path, f'run_nice = {target}\nrun_threads = 1\nrun_memory_limit = "1GB"')
    seen: dict = {}

    def job() -> None:
        before = set(os.listdir("/proc/self/task"))
        served = runlimits.served(cfg)
        seen["job"] = _nice(threading.get_native_id())
        con = duckdb.connect(
            str(tmp_path / "run.duckdb"), config={"threads": 2, "memory_limit": "1GB"}
        )  # two threads: a worker beside this one, started by this (niced) thread
        con.execute("SELECT sum(i) FROM range(1000000) t(i)").fetchone()
        seen["workers"] = [_nice(int(t)) for t in set(os.listdir("/proc/self/task")) - before]
        seen["limits"] = (served.get("warehouse", "threads"), served.get("warehouse", "memory_limit"))
        con.close()

    t = threading.Thread(target=job)
    t.start()
    t.join()
    assert seen["job"] == target
    assert seen["workers"] and all(n == target for n in seen["workers"])
    assert seen["limits"] == (1, "1GB")
    assert _nice(threading.get_native_id()) == main_before  # the rest of the process (the app's side) is not
    assert (cfg.get("warehouse", "threads"), cfg.get("warehouse", "memory_limit")) == (2, "4GB")  # untouched


def test_zero_and_empty_keep_the_warehouse_settings(tmp_path):
    cfg = _config(tmp_path, 'run_nice = 0\nrun_threads = 0\nrun_memory_limit = ""')
    seen: dict = {}

    def job() -> None:
        before = _nice(threading.get_native_id())
        served = runlimits.served(cfg)
        seen["same_nice"] = _nice(threading.get_native_id()) == before
        seen["limits"] = (served.get("warehouse", "threads"), served.get("warehouse", "memory_limit"))

    t = threading.Thread(target=job)
    t.start()
    t.join()
    assert seen == {"same_nice": True, "limits": (2, "4GB")}
