"""Rule, view and KPI SQL for another engine: parameters inlined as typed literals, then SQLGlot from DuckDB.

Other engines have no getvariable(): each call becomes the literal of its value (a DATE stays a DATE, a
timestamp a TIMESTAMPTZ), so the statement the engine receives is self-contained. The rule text itself is never
forked per engine: what does not transpile to the same rows is a failing equality test (tests/engines).
"""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp

from checks.loader import sql_literal

GETVARIABLE = re.compile(r"getvariable\('([a-z_0-9]+)'\)", re.I)


class TranspileError(Exception):
    """A statement that cannot be written for the target engine (names the variable or the parse error)."""


def inline_variables(sql: str, values: dict[str, Any]) -> str:
    """Every getvariable('name') replaced by its value as a typed DuckDB literal; an unknown name raises."""

    def literal(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise TranspileError(f"getvariable('{name}') has no value")
        value = values[name]
        text = sql_literal(value)
        # a bare NULL has no type on the engine: a numeric parameter left empty stays numeric
        return f"CAST({text} AS VARCHAR)" if value is None else f"({text})"

    return GETVARIABLE.sub(literal, sql)


def transpile(sql: str, values: dict[str, Any], dialect: str) -> str:
    """The DuckDB statement `sql` for `dialect` ("duckdb" leaves it as written, variables inlined)."""
    inlined = inline_variables(sql, values)
    if dialect == "duckdb":
        return inlined
    try:
        trees = sqlglot.parse(inlined, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise TranspileError(f"does not parse: {str(exc).splitlines()[0]}") from None
    trees = [_for_engine(t, dialect) for t in trees if isinstance(t, exp.Expression)]
    return ";\n".join(t.sql(dialect=dialect) for t in trees)


def _for_engine(tree: exp.Expression, dialect: str) -> exp.Expression:
    """What SQLGlot leaves DuckDB-typed: PostgreSQL has round(numeric, int) only, DuckDB rounds a double too
    (both half away from zero), so round(x, n) rounds x as NUMERIC there."""
    if dialect != "postgres":
        return tree

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
            node.set("this", exp.cast(node.this, exp.DataType.build("DECIMAL")))
        return node

    return tree.transform(fix)
