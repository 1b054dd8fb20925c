"""CSV exports never hand a spreadsheet a formula: cells starting with = + - @ are written as text."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from closedloop.csvsafe import safe_cell, to_csv


def test_formula_cells_are_escaped_and_numbers_are_not():
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "plain", "O'Brien"]
    data = to_csv(["note", "amount"], [[h, Decimal("-12.50")] for h in hostile])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert [r[0] for r in rows[1:]] == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "plain",
        "O'Brien",
    ]
    # a negative amount is a number, not text: it stays as it is
    assert {r[1] for r in rows[1:]} == {"-12.50"}
    assert safe_cell(None) is None and safe_cell(5) == 5
