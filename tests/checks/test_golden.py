"""Golden rows: the exact failing entities per check on a hand-built firm full of traps."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from checks.loader import load_checks
from checks.runner import run_checks
from tests.checks.clean_firm import clean
from tests.checks.firm import AS_OF

CHECK_IDS = [c.id for c in load_checks() if not c.gating]


def test_clean_firm_raises_nothing():
    con = duckdb.connect()
    clean(con)
    summary = run_checks(con, run_id="clean", as_of=AS_OF)
    assert summary.by_status("error") == []
    assert con.execute("SELECT check_id, entity_id FROM results.finding").fetchall() == []


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_expected_entities(golden, check_id: str):
    con, expected = golden
    got = set(
        con.execute(
            "SELECT entity_type, entity_id FROM results.finding WHERE check_id = ?", [check_id]
        ).fetchall()
    )
    assert got == expected.get(check_id, set())
    assert expected.get(check_id), f"{check_id} has no golden defect"


@pytest.mark.parametrize(
    "check_id, entity_id, impact, expected_loss, severity",
    [
        ("Q2C-001", "O001", "39000.00", None, "S1"),  # GBP 30000 x 1.30; materiality escalation S2 -> S1
        # cash: the amount at stake, then the cost of the delay
        ("Q2C-010", "S010", "100000.00", "552.33", "S1"),  # 100000 x (21 - 5) bd x 1.4 x 0.09 / 365; started
        ("Q2C-024", "I024", "1200.00", "8.88", "S2"),  # 1200 x 30 d x 0.09 / 365; terms +30 d
        ("Q2C-032b", "P32B", "1200.00", "7.40", "S3"),  # 1200 x (30 - 5) x 0.09 / 365
        # leakage: the amount at stake, then the expected loss
        ("Q2C-032", "P032", "6000.00", "1800.00", "S1"),  # 40 h x 150 x p_leak(123 d) = 0.30
        ("Q2C-035", "EX035", "900.00", "270.00", "S1"),  # 900 x 0.30; > 60 d -> S2, age > 2 x 30 -> S1
        ("Q2C-053", "BS053", "100000.00", "5000.00", "S1"),  # 100000 x p_leak(46 d) = 0.05
        ("Q2C-063", "AM060", "0.00", None, "S4"),
        ("Q2C-074", "I074", "1200.00", "180.00", "S2"),  # 1200 x p_leak(61 dpd) = 0.15
        ("Q2C-083", "S083", "50000.00", "25000.00", "S1"),  # 50000 x p_leak(183 d) = 0.50
        ("Q2C-092", "VB092", "1100.00", "330.00", "S3"),  # 1000 x 1.1 x p_leak(91 d) = 0.30
        ("Q2C-109", "salesforce.opportunity", "0.00", None, "S2"),  # a field removed (monitor observation)
        ("Q2C-109", "netsuite.invoice", "0.00", None, "S4"),  # a field added
    ],
)
def test_impact_and_severity(golden, check_id, entity_id, impact, expected_loss, severity):
    con, _ = golden
    row = con.execute(
        "SELECT impact_rc, expected_loss_rc, severity FROM results.finding WHERE check_id = ? AND entity_id = ?",
        [check_id, entity_id],
    ).fetchone()
    assert row == (Decimal(impact), None if expected_loss is None else Decimal(expected_loss), severity)


def test_finding_key_is_stable_hash(golden):
    import hashlib

    con, _ = golden
    key = con.execute(
        "SELECT finding_key FROM results.finding WHERE check_id = 'Q2C-001' AND entity_id = 'O001'"
    ).fetchone()[0]
    assert key == hashlib.md5(b"Q2C-001|opportunity|O001").hexdigest()


def test_check_run_totals(golden):
    con, _ = golden
    rows = con.execute(
        "SELECT status, count(*) FROM results.check_run WHERE run_id = 'golden' GROUP BY 1"
    ).fetchall()
    # the golden warehouse holds schema-monitor verdicts only: the freshness and volume rules would read nothing
    # and pass, so they are not covered (a check that cannot fail is never reported passed)
    assert dict(rows) == {"failed": len(CHECK_IDS), "not_covered": 2}
    unseen = con.execute(
        "SELECT check_id FROM results.check_run WHERE run_id = 'golden' AND status = 'not_covered' ORDER BY 1"
    ).fetchall()
    assert unseen == [("Q2C-105",), ("Q2C-106",)]
    n, total = con.execute(
        "SELECT row_count, impact_rc FROM results.check_run WHERE check_id = 'Q2C-001'"
    ).fetchone()
    assert (n, total) == (3, Decimal("239000.00"))
