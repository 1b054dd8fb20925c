"""CSV a spreadsheet opens safely: a text cell that starts like a formula is written as text, not run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# Excel, LibreOffice and Google Sheets evaluate a cell starting with one of these (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text value that would start a formula gets a leading apostrophe; numbers and dates pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV of the rows with every text cell made safe (header included: column names can be hostile too)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([safe_cell(h) for h in header])
    for row in rows:
        w.writerow(["" if v is None else safe_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")
