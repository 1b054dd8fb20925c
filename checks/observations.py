"""The observation tables: what monitors and data contracts record in a run, for rule files to read.

checks/ is the only writer of findings and cases. The trust step (closedloop/contracts, closedloop/monitors.py)
measures and judges the data before the checks run and records what it saw here; rules such as Q2C-105
(freshness), Q2C-106 (volume) and Q2C-109 (schema drift) turn this run's observations into findings. The tables
are declared once, here, because the rules read them: every warehouse the checks run in has them, empty where
no monitor ran (the answer key's fast path, the golden tests).
"""

from __future__ import annotations

import duckdb

# One row per monitor verdict on a source (stream '*') or a stream; status ok | breach | warning | skipped.
MONITOR_DDL = """
CREATE SCHEMA IF NOT EXISTS results;
CREATE TABLE IF NOT EXISTS results.monitor(run_id VARCHAR, source VARCHAR, stream VARCHAR, monitor VARCHAR,
    status VARCHAR, severity VARCHAR, value DOUBLE, threshold DOUBLE, unit VARCHAR, detail VARCHAR,
    measured_at TIMESTAMPTZ);
"""
# One row per expectation of a data contract on a raw stream or canonical table.
CONTRACT_DDL = """
CREATE SCHEMA IF NOT EXISTS results;
CREATE TABLE IF NOT EXISTS results.contract_result(run_id VARCHAR, source VARCHAR, stream VARCHAR,
    expectation VARCHAR, column_name VARCHAR, success BOOLEAN, severity VARCHAR, unexpected_count BIGINT,
    element_count BIGINT, sample_failing_keys VARCHAR, exception VARCHAR, kind VARCHAR, label VARCHAR);
"""


def ensure_observations(con: duckdb.DuckDBPyConnection) -> None:
    """Create the observation tables when missing (a warehouse without monitors still binds the rules)."""
    con.execute(MONITOR_DDL)
    con.execute(CONTRACT_DDL)
