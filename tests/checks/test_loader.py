"""Loader errors name the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.loader import CheckLoadError, load_checks

GOOD = """/* ---
id: Q2C-998
title: t
severity: S3
owner: o
domain: d
systems: [ERP]
description: d
remediation: r
impact_kind: compliance
stage: invoice
depends_on: [invoice]
--- */
SELECT 'invoice' AS entity_type, i.invoice_id AS entity_id, i.correlation_id,
       CAST(0 AS DECIMAL(18, 2)) AS impact_rc
FROM canon.invoice i
"""


def _load(tmp_path: Path, text: str, bind: bool = True) -> CheckLoadError:
    (tmp_path / "d").mkdir(exist_ok=True)
    (tmp_path / "d" / "q2c-998_t.sql").write_text(text)
    with pytest.raises(CheckLoadError) as err:
        load_checks(tmp_path, bind=bind)
    return err.value


def test_good_rule_loads(tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "q2c-998_t.sql").write_text(GOOD)
    assert [c.id for c in load_checks(tmp_path, bind=True)] == ["Q2C-998"]


def test_missing_key(tmp_path: Path):
    err = _load(tmp_path, GOOD.replace("owner: o\n", ""))
    assert err.path.endswith("q2c-998_t.sql") and err.line == 2 and "owner" in err.message


def test_bad_severity(tmp_path: Path):
    err = _load(tmp_path, GOOD.replace("severity: S3", "severity: S9"))
    assert err.line == 4 and "severity" in str(err) and "q2c-998_t.sql:4" in str(err)


def test_invalid_yaml(tmp_path: Path):
    err = _load(tmp_path, GOOD.replace("remediation: r", "remediation: fix: this"))
    assert err.line == 9 and "invalid YAML" in err.message


def test_sql_that_does_not_bind(tmp_path: Path):
    err = _load(
        tmp_path, GOOD.replace("FROM canon.invoice i", "FROM canon.invoice i\nWHERE i.no_such_col = 1")
    )
    assert err.line == 17 and "does not bind" in err.message


def test_undeclared_param(tmp_path: Path):
    err = _load(
        tmp_path,
        GOOD.replace("FROM canon.invoice i", "FROM canon.invoice i WHERE getvariable('x') = 1"),
        bind=False,
    )
    assert "undeclared" in err.message and err.line == 14


def test_missing_header(tmp_path: Path):
    err = _load(tmp_path, "SELECT 1", bind=False)
    assert err.line == 1 and "header" in err.message
