"""`closedloop run --json` owns stdout: DuckDB's progress bar (drawn on stdout for any query past 2 s, on by
default) is off on the run's connection and on every cursor the checks open from it."""

from __future__ import annotations

from pathlib import Path

from checks.loader import empty_model
from closedloop.warehouse import Warehouse


def _bar(con) -> bool:
    return con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]


def test_the_run_connection_and_its_cursors_draw_no_progress_bar(tmp_path: Path):
    con = Warehouse.at(tmp_path).create("r1")
    try:
        assert _bar(con) is False and _bar(con.cursor()) is False
    finally:
        con.close()
    helper = empty_model()
    assert _bar(helper) is False
