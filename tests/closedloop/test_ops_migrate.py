"""The ops store migrates once when many open it at the same moment (the app's script runs and prewarm, serve)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa

from closedloop.ops import MIGRATIONS, OpsStore


def _names(url: str) -> list[str]:
    with sa.create_engine(url).connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT name FROM schema_migrations ORDER BY name"))]


def test_threads_opening_a_new_store_together_migrate_it_once(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def open_store() -> None:
        start.wait()
        try:
            OpsStore(url)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _names(url) == sorted(name for name, _ in MIGRATIONS)  # each recorded once


def test_processes_opening_a_new_store_together_migrate_it_once(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    code = "import sys; from closedloop.ops import OpsStore; OpsStore(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE) for _ in range(4)]
    failed = [p.stderr.read().decode() for p in procs if p.wait(timeout=120) != 0]
    assert not failed, failed
    assert _names(url) == sorted(name for name, _ in MIGRATIONS)
