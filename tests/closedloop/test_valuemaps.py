"""Value maps: vendor values become canonical ones by config; what no map knows is NULL and recorded, per flow."""

from __future__ import annotations

import re
import tomllib

import duckdb
import pytest

from closedloop import settings, valuemaps
from closedloop.canonical import CANON_DIR
from closedloop.sqlfiles import run_sql_file


def test_matching_ignores_case_spacing_and_separators():
    assert valuemaps.normalize("  Partially_Paid ") == valuemaps.normalize("partially - paid")
    m = valuemaps.source_map("salesforce", None)
    assert m["invoice.status"][valuemaps.normalize("PARTIALLY PAID")] == "partially_paid"
    assert m["sow.billing_type"][valuemaps.normalize("tm cap")] == "TM_CAP"
    assert valuemaps.normalize("Fully Signed") not in m["sow.status"]


def test_config_map_wins_and_todo_unmaps():
    m = valuemaps.source_map("ironclad", {"sow.status": {"Fully Signed": "executed", "Signed": "TODO"}})
    assert m["sow.status"]["fully signed"] == "executed"
    assert "signed" not in m["sow.status"]  # the vendor default is withdrawn by an explicit TODO
    assert valuemaps.source_map("ironclad", None)["sow.status"]["signed"] == "executed"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ('"sow.stat" = {Signed = "executed"}', "unknown canonical column 'sow.stat'"),
        (
            '"sow.status" = {Signed = "signed"}',
            "'Signed' maps to 'signed', which is not a value of sow.status",
        ),
        ('"sow.status" = "executed"', "must be a table of vendor value = canonical value"),
    ],
)
def test_bad_maps_name_the_key_and_the_file(tmp_path, values, message):
    path = tmp_path / "closedloop.toml"
    path.write_text(f'[sources.ironclad]\npath = "x"\n[sources.ironclad.values]\n{values}\n')
    with pytest.raises(settings.ConfigError) as err:
        settings.parse(tomllib.loads(path.read_text()), path)
    assert str(path) in str(err.value) and "sources.ironclad.values" in str(err.value)
    assert message in str(err.value)


def _canon() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    run_sql_file(con, CANON_DIR / "schema.sql")
    return con


def _sow(con, sow_id: str, status: str | None, cid: str, source: str = "clm") -> None:
    con.execute(
        "INSERT INTO canon.sow (sow_id, status, source_system, correlation_id) VALUES (?, ?, ?, ?)",
        [sow_id, status, source, cid],
    )


def test_apply_translates_the_new_rows_and_records_what_it_cannot():
    con = _canon()
    _sow(con, "S0", "Weird", "CID-0", source="other")  # mapped earlier by another source: not touched
    marks = valuemaps.row_marks(con)
    for i, status in enumerate(
        ["Executed", " fully signed", "Pending Countersign", None, "Pending Countersign"]
    ):
        _sow(con, f"S{i + 1}", status, f"CID-{i + 1}")
    valuemaps.apply(con, "clm", "ironclad", {"sow.status": {"Fully Signed": "executed"}}, marks)
    valuemaps.record_unmapped(con)
    got = dict(con.execute("SELECT sow_id, status FROM canon.sow").fetchall())
    assert got == {"S0": "Weird", "S1": "executed", "S2": "executed", "S3": None, "S4": None, "S5": None}
    rows = con.execute(
        "SELECT source_system, table_name, column_name, vendor_value, correlation_id, row_count, setting"
        " FROM meta.unmapped_value ORDER BY correlation_id"
    ).fetchall()
    key = 'sources.clm.values."sow.status"'
    assert rows == [
        ("clm", "sow", "status", "Pending Countersign", "CID-3", 1, key),
        ("clm", "sow", "status", "Pending Countersign", "CID-5", 1, key),
    ]


def test_a_source_already_canonical_is_not_rewritten():
    con = _canon()
    marks = valuemaps.row_marks(con)
    _sow(con, "S1", "executed", "CID-1")
    valuemaps.apply(con, "clm", "ironclad", None, marks)
    valuemaps.record_unmapped(con)
    assert con.execute("SELECT status FROM canon.sow").fetchall() == [("executed",)]
    assert con.execute("SELECT count(*) FROM meta.unmapped_value").fetchone()[0] == 0


_MAPPED = "|".join(sorted({k.split(".")[1] for k in valuemaps.DOMAINS}))
_COMPARED = re.compile(
    rf"\b(?:(\w+)\.)?({_MAPPED})\s*(?:=|<>|!=|(?:NOT\s+)?IN)\s*\(?((?:\s*'[^']*'\s*,?)+)\)?", re.I
)
# Aliases of the observation tables (checks/observations.py): their status is a monitor's verdict, not a vendor's.
_OBSERVED = re.compile(r"\bresults\.(?:monitor|contract_result)\s+(?:AS\s+)?(\w+)", re.I)


def test_no_rule_kpi_or_helper_compares_a_vendor_literal():
    """Every literal a rule, KPI or helper view compares with a mapped column is a canonical value."""
    from checks.kpis import kpi_files
    from checks.loader import RULES_DIR, VIEWS_DIR, rule_files

    domain_values = {v for values in valuemaps.DOMAINS.values() for v in values}
    files = [*rule_files(RULES_DIR), *kpi_files(), *sorted(VIEWS_DIR.glob("*.sql"))]
    compared = 0
    for path in files:
        text = path.read_text()
        observed = {a.lower() for a in _OBSERVED.findall(text)}
        for alias, column, literals in _COMPARED.findall(text):
            if alias.lower() in observed:
                continue
            for literal in re.findall(r"'([^']*)'", literals):
                compared += 1
                assert literal in domain_values, (
                    f"{path.name}: {column} compared with {literal!r}, no domain value"
                )
    assert compared > 100  # the pattern still finds the comparisons it polices
