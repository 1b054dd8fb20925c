"""Reject SQL outside the portable subset (DESIGN.md): constructs that transpile but give wrong rows."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

BLOCKED_FUNCS = {
    "ARG_MAX",
    "ARG_MIN",
    "ARGMAX",
    "ARGMIN",
    "MAX_BY",
    "MIN_BY",
    "LIST",
    "ARRAY_AGG",
    "LIST_FILTER",
    "LIST_SORT",
    "STRUCT_PACK",
    "DAYOFWEEK",
    "DAYOFWEEKISO",
    "ISODOW",
    "DOW",
    "WEEKDAY",
    "DAYNAME",
    "STRFTIME",
    "DATE_SUB",
    "DATEDIFF",
}
BLOCKED_UNITS_OK = {"DAY"}
DATE_NAME = re.compile(r"(^d$|_date$|^date$|_at$|_ts$|^period$|_start$|_end$)", re.I)


def _is_dateish(node: exp.Expression) -> bool:
    if isinstance(node, exp.Column):
        return bool(DATE_NAME.search(node.name))
    if isinstance(node, exp.Cast):
        return node.to.is_type("date", "timestamp", "timestamptz")
    return isinstance(node, exp.CurrentDate | exp.CurrentTimestamp)


def violations(sql: str) -> list[str]:
    """Return human-readable violations of the portable subset ([] when the SQL is portable)."""
    out: list[str] = []
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        return [f"does not parse: {str(exc).splitlines()[0]}"]
    if len(statements) != 1:
        return [f"expected exactly one statement, found {len(statements)}"]
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        return [f"must be a SELECT, found {type(tree).__name__}"]
    if re.search(r"\bCREATE\s+(OR\s+REPLACE\s+)?(TEMP\s+)?MACRO\b", sql, re.I):
        out.append("macros are not portable")
    for node in tree.walk():
        if isinstance(node, exp.Qualify):
            out.append("QUALIFY is not portable: use row_number() in a CTE")
        elif isinstance(node, exp.Group) and node.args.get("all"):
            out.append("GROUP BY ALL is not portable: list the columns")
        elif isinstance(node, exp.ArgMax | exp.ArgMin):
            out.append("arg_max/arg_min are not portable: use row_number() in a CTE")
        elif isinstance(node, exp.Array | exp.Struct | exp.ArrayAgg | exp.Lambda):
            out.append(f"list/struct values are not portable ({node.sql(dialect='duckdb')[:40]})")
        elif isinstance(node, exp.DateDiff | exp.DatetimeDiff | exp.TimestampDiff):
            unit = (node.text("unit") or "DAY").upper().strip("'")
            if unit not in BLOCKED_UNITS_OK:
                out.append(f"date_diff only in 'day' units (found {unit})")
        elif isinstance(node, exp.TimeToStr):
            out.append("strftime/format strings are not portable")
        elif isinstance(node, exp.DayOfWeek | exp.DayOfWeekIso) or (
            isinstance(node, exp.Extract) and node.this.name.upper() in {"DOW", "ISODOW", "DAYOFWEEK"}
        ):
            out.append("day-of-week numbering is not portable: use canon.calendar")
        elif isinstance(node, exp.Anonymous | exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
            if name in BLOCKED_FUNCS:
                out.append(f"function {name.lower()} is not in the portable subset")
            if name == "DATE_PART" and "dow" in node.sql().lower():
                out.append("day-of-week numbering is not portable: use canon.calendar")
        elif isinstance(node, exp.Sub):
            left, right = node.this, node.expression
            if not isinstance(right, exp.Interval | exp.Mul) and _is_dateish(left) and _is_dateish(right):
                out.append(f"date - date is not portable: use date_diff('day', a, b) ({node.sql()[:50]})")
    return sorted(set(out))
