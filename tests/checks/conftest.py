"""Shared fixtures: the golden firm built once per module in memory."""

from __future__ import annotations

import duckdb
import pytest

from tests.checks.clean_firm import clean
from tests.checks.firm import AS_OF
from tests.checks.scenarios import defects
from tests.checks.scenarios2 import defects2


def build_golden(con: duckdb.DuckDBPyConnection) -> dict[str, set[tuple[str, str]]]:
    """Clean firm plus both defect batches; returns the expected findings per check."""
    clean(con)
    expected = defects(con)
    for check_id, rows in defects2(con).items():
        expected.setdefault(check_id, set()).update(rows)
    return expected


@pytest.fixture(scope="module")
def golden() -> tuple[duckdb.DuckDBPyConnection, dict[str, set[tuple[str, str]]]]:
    """The golden firm after one run of every check."""
    from checks.runner import run_checks

    con = duckdb.connect()
    expected = build_golden(con)
    run_checks(con, run_id="golden", as_of=AS_OF)
    return con, expected
