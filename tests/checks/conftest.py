"""Shared fixtures: the golden firm built once per module in memory."""

from __future__ import annotations

import json

import duckdb
import pytest

from checks.observations import ensure_observations
from tests.checks.clean_firm import clean
from tests.checks.firm import AS_OF
from tests.checks.scenarios import defects
from tests.checks.scenarios2 import defects2


def build_golden(con: duckdb.DuckDBPyConnection, run_id: str = "golden") -> dict[str, set[tuple[str, str]]]:
    """Clean firm plus both defect batches and the run's monitor observations; the expected findings per check."""
    clean(con)
    expected = defects(con)
    for check_id, rows in defects2(con).items():
        expected.setdefault(check_id, set()).update(rows)
    for check_id, rows in observations(con, run_id).items():
        expected.setdefault(check_id, set()).update(rows)
    return expected


def observe(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    source: str,
    stream: str,
    monitor: str,
    status: str,
    value: float | None = None,
    threshold: float | None = None,
    **detail: object,
) -> None:
    """One monitor verdict in results.monitor, as closedloop/monitors.py stores it before the checks run."""
    ensure_observations(con)
    con.execute(
        "INSERT INTO results.monitor VALUES (?, ?, ?, ?, ?, NULL, ?, ?, '', ?, now())",
        [run_id, source, stream, monitor, status, value, threshold, json.dumps(detail)],
    )


def observations(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, set[tuple[str, str]]]:
    """Schema drift the golden run saw (non-gating, so every other check still judges the firm)."""
    observe(con, run_id, "salesforce", "opportunity", "schema", "breach", 1, 0, removed=["Amount"])
    observe(con, run_id, "netsuite", "invoice", "schema", "warning", 1, 0, added=["custbody_new"])
    observe(con, run_id, "netsuite", "customer", "schema", "ok", 0, 0)
    observe(con, "an-older-run", "netsuite", "project", "schema", "breach", 1, 0, removed=["entityid"])
    return {"Q2C-109": {("source_stream", "salesforce.opportunity"), ("source_stream", "netsuite.invoice")}}


@pytest.fixture(scope="module")
def golden() -> tuple[duckdb.DuckDBPyConnection, dict[str, set[tuple[str, str]]]]:
    """The golden firm after one run of every check."""
    from checks.runner import run_checks

    con = duckdb.connect()
    expected = build_golden(con)
    run_checks(con, run_id="golden", as_of=AS_OF)
    return con, expected
