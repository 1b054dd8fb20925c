"""`closedloop serve`: the app answers while the scheduler in the same process tree runs what is asked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from closedloop import scheduler, settings
from closedloop.warehouse import Warehouse
from tests.closedloop.test_pipeline import make_firm


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_serve_runs_requested_runs_while_the_app_serves(tmp_path):
    cfg = make_firm(tmp_path)
    path = tmp_path / "closedloop.toml"
    path.write_text(path.read_text() + "[schedule]\npoll_seconds = 1\n[contracts]\nenabled = false\n")
    cfg = settings.load(path)
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "closedloop.cli", "serve", "--config", str(path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        start_new_session=True,
    )
    health = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        deadline = time.monotonic() + 90
        while not _healthy(health):
            assert proc.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "the app never came up"
            time.sleep(0.5)
        wh = Warehouse.at(cfg.data_dir)
        for n in (1, 2):
            before = (wh.published() or {}).get("run_id")
            scheduler.request_run_now(cfg, "test")
            deadline = time.monotonic() + 120
            while (wh.published() or {}).get("run_id") == before:
                assert time.monotonic() < deadline, f"run {n} was never published"
                assert _healthy(health), "the app stopped answering during a run"
                time.sleep(0.5)
        assert _healthy(health)
        state = scheduler.scheduler_state(cfg)
        assert any(j["id"] == "run" for j in state["jobs"]), state  # the cron job is scheduled too
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
