"""Every rule file, discovered automatically: header, binding, portability, output columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.kpis import kpi_files
from checks.loader import (
    VIEWS_DIR,
    bind_check,
    empty_model,
    load_checks,
    parse_rule,
    rule_files,
    set_context,
    set_variables,
)
from checks.portability import violations

RULES = rule_files()
REQUIRED = [
    "001",
    "002",
    "003",
    "004",
    "005",
    "010",
    "011",
    "012",
    "013",
    "020",
    "021",
    "022",
    "023",
    "024",
    "030",
    "031",
    "032",
    "032b",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "050",
    "051",
    "052",
    "053",
    "055",
    "056",
    "060",
    "061",
    "062",
    "063",
    "064",
    "070",
    "071",
    "072",
    "073",
    "074",
    "075",
    "076",
    "080",
    "081",
    "082",
    "083",
    "084",
    "040",
    "041",
    "042",
    "043",
    "045",
    "090",
    "091",
    "092",
    "100",
    "101",
    "102",
    "103",
    "104",
    "105",
    "106",
    "107",
    "109",
]
TYPES = {
    "entity_type": "VARCHAR",
    "entity_id": "VARCHAR",
    "correlation_id": "VARCHAR",
    "impact_rc": "DECIMAL(18,2)",
    "event_date": "DATE",
    "severity": "VARCHAR",
    "expected_loss_rc": "DECIMAL(18,2)",
    "currency": "VARCHAR",
}
# FX shown with a converted amount: the local currency and amount, the rate used and its date.
FX_COLS = ("currency", "amount", "fx_rate", "fx_date")


@pytest.fixture(scope="module")
def model():
    con = empty_model()
    yield con
    con.close()


def test_catalog_coverage():
    ids = {c.id for c in load_checks()}
    assert {f"Q2C-{n}" for n in REQUIRED} <= ids
    domains = {p.parent.name for p in RULES}
    assert len(domains) == 11 and len(ids) >= 40


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_rule(path: Path, model):
    check = parse_rule(path)
    assert path.name.startswith(check.id.lower() + "_")
    assert path.parent.name == check.domain
    assert violations(check.sql) == []
    bind_check(model, check)
    cur = model.cursor()
    set_context(cur, "2026-10-31")
    set_variables(cur, check.params)
    cols = {r[0]: r[1] for r in cur.execute(f"DESCRIBE {check.sql}").fetchall()}
    for col in ("entity_type", "entity_id", "correlation_id", "impact_rc"):
        assert col in cols, f"{path.name}: missing {col}"
    for col, typ in TYPES.items():
        if col in cols:
            assert cols[col] == typ, f"{path.name}: {col} is {cols[col]}, want {typ}"
    fx = [c for c in FX_COLS if c in cols]
    assert fx in ([], list(FX_COLS)), f"{path.name}: FX evidence {fx}, want none or all of {FX_COLS}"
    if fx:
        assert cols["fx_date"] == "DATE", f"{path.name}: fx_date is {cols['fx_date']}"
    # a check that estimates (a leakage probability, a cost of capital) keeps the amount at stake in impact_rc and
    # labels the estimate as the second figure
    if "chk.p_leak" in check.sql or "coc" in check.sql:
        assert "expected_loss_rc" in cols, f"{path.name}: an estimate without expected_loss_rc"


@pytest.mark.parametrize("path", sorted(VIEWS_DIR.glob("*.sql")) + kpi_files(), ids=lambda p: p.stem)
def test_views_and_kpis_portable(path: Path):
    assert violations(path.read_text()) == []


@pytest.mark.parametrize(
    "sql, needle",
    [
        ("SELECT a FROM t QUALIFY row_number() OVER () = 1", "QUALIFY"),
        ("SELECT arg_max(a, b) FROM t", "arg_max"),
        ("SELECT a, count(*) FROM t GROUP BY ALL", "GROUP BY ALL"),
        ("SELECT list(a) FROM t GROUP BY b", "list/struct"),
        ("SELECT date_diff('hour', a, b) FROM t", "date_diff"),
        ("SELECT x.invoice_date - y.signed_date FROM x, y", "date - date"),
        ("SELECT dayofweek(d) FROM t", "day-of-week"),
        ("CREATE MACRO m(a) AS a", "SELECT"),
    ],
)
def test_portability_rejects(sql: str, needle: str):
    assert any(needle in v for v in violations(sql))
