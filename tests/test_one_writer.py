"""checks/ is the only writer of findings and cases: no product module outside it writes their tables.

Monitors and data contracts record observations (results.monitor, results.contract_result) that rules read;
the workflow writes the ops store. A second writer of results.finding would count or age findings twice.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("closedloop", "collectors", "app")  # every product package but checks/
OWNED = ("finding", "finding_history", "cases", "case_history", "check_run")
_TABLE = r'(?:"?\w+"?\s*\.\s*)?"?results"?\s*\.\s*"?(?:' + "|".join(OWNED) + r')"?(?![\w"])'
WRITE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO|TRUNCATE(?:\s+TABLE)?|COPY"
    r"|ALTER\s+TABLE|DROP\s+TABLE(?:\s+IF\s+EXISTS)?"
    r"|CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?)\s+" + _TABLE,
    re.I,
)


def writes(text: str) -> list[str]:
    """The statements in `text` that write one of the tables checks/ owns."""
    return [m.group(0) for m in WRITE.finditer(text)]


def _sources() -> list[Path]:
    return sorted(p for pkg in PRODUCT for p in (ROOT / pkg).rglob("*") if p.suffix in (".py", ".sql"))


@pytest.mark.parametrize(
    "text",
    [
        "INSERT INTO results.finding BY NAME SELECT * FROM x",
        "con.execute('insert into results.finding_history select 1')",
        'UPDATE results."cases" SET status = 1',
        "DELETE FROM\n    results.case_history WHERE true",
        "CREATE OR REPLACE TABLE run.results.check_run AS SELECT 1",
        "MERGE INTO results.finding USING s ON true",
    ],
)
def test_the_scan_finds_a_write(text: str) -> None:
    assert writes(text), text


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM results.finding WHERE run_id = ?",
        "INSERT INTO results.monitor VALUES (?)",  # an observation
        "INSERT INTO results.finding_stage_copy VALUES (1)",
        "DELETE FROM results.kpi WHERE run_id = ?",
    ],
)
def test_the_scan_ignores_reads_and_other_tables(text: str) -> None:
    assert not writes(text), text


def test_no_module_outside_checks_writes_findings_or_cases() -> None:
    files = _sources()
    assert len(files) > 100  # the scan still sees the product's code
    found = {str(p.relative_to(ROOT)): w for p in files if (w := writes(p.read_text(encoding="utf-8")))}
    assert found == {}, f"only checks/ writes findings and cases; also written by: {found}"


def test_the_spine_does_not_carry_the_checks_tables_forward() -> None:
    """The warehouse copies history tables into a new run; the checks' own are carried by checks/results.py."""
    from closedloop.warehouse import HISTORY_TABLES

    assert not {t.split(".", 1)[1] for t in HISTORY_TABLES} & set(OWNED)
