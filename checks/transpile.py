"""Rule, view and KPI SQL for another engine: parameters inlined as typed literals, then SQLGlot from DuckDB.

Other engines have no getvariable(): each call becomes the literal of its value (a DATE stays a DATE, a
timestamp a TIMESTAMPTZ), so the statement the engine receives is self-contained. The rule text itself is never
forked per engine: what does not transpile to the same rows is a failing equality test (tests/engines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


# logical schema of the rule files -> (schema on the engine, table name prefix there)
Placement = Mapping[str, tuple[str, str]]


def transpile(sql: str, values: dict[str, Any], dialect: str, placement: Placement | None = None) -> str:
    """The DuckDB statement `sql` for `dialect` ("duckdb" leaves it as written, variables inlined), its
    canon.*, chk.* and results.* tables placed where `placement` says they live on the engine."""
    inlined = inline_variables(sql, values)
    if dialect == "duckdb":
        return inlined
    try:
        trees = sqlglot.parse(inlined, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise TranspileError(f"does not parse: {str(exc).splitlines()[0]}") from None
    trees = [
        _placed(_for_engine(t, dialect), placement or {}) for t in trees if isinstance(t, exp.Expression)
    ]
    return ";\n".join(t.sql(dialect=dialect) for t in trees)


def _placed(tree: exp.Expression, placement: Placement) -> exp.Expression:
    """Every schema-qualified table of a logical schema renamed to its place on the engine (the firm grants
    read on its canonical schema and write on one work schema, not the names the rule files use). A place may
    name its catalog too (catalog.schema: Unity Catalog on Databricks)."""
    if not placement:
        return tree
    for table in tree.find_all(exp.Table):
        where = placement.get(table.db)
        if where and not table.catalog:
            place, prefix = where
            catalog, _, schema = place.rpartition(".")
            table.set("db", exp.to_identifier(schema))
            if catalog:
                table.set("catalog", exp.to_identifier(catalog))
            if table.name:  # CREATE SCHEMA canon names a schema only
                table.set("this", exp.to_identifier(prefix + table.name))
    return tree


def _for_engine(tree: exp.Expression, dialect: str) -> exp.Expression:
    """What SQLGlot leaves DuckDB-typed, for PostgreSQL:
    - round(numeric, int) only, and a double cast to NUMERIC first is rounded from its shortest decimal text
      (79.58499999999999 becomes 79.585, then 79.59) where DuckDB rounds the double itself (79.58): round(x, n)
      with a literal n is written out as DuckDB computes it, sign(x) * floor(abs(x) * 10^n + 0.5) / 10^n, in
      x's own type (NUMERIC stays exact, a double stays a double);
    - JSON functions take json only: DuckDB's read JSON held in text (VARCHAR evidence and monitor details), so
      the document is cast to JSON there."""
    if dialect == "spark":
        return _for_spark(tree)
    if dialect != "postgres":
        return tree

    for node in list(tree.find_all(exp.JSONExtract, exp.JSONExtractScalar)):
        node.set("this", exp.cast(node.this, exp.DataType.build("JSON")))
    for node in list(tree.find_all(exp.RegexpExtract)):
        node.replace(_pg_regexp_extract(node))
    # PostgreSQL before 16 wants a name on every subquery in FROM
    unnamed = [n for n in tree.find_all(exp.Subquery) if isinstance(n.parent, (exp.From, exp.Join))]
    for i, node in enumerate(n for n in unnamed if not n.alias):
        node.set("alias", exp.TableAlias(this=exp.to_identifier(f"_q{i}")))
    for node in tree.find_all(exp.Identifier):  # DuckDB matches names case-blind, quoted or not
        node.set("this", node.name.lower())
    # innermost first: an outer round's argument, copied into its rewrite, holds the inner one already rewritten
    for node in sorted(tree.find_all(exp.Round), key=lambda n: -n.depth):
        node.replace(_half_away_from_zero(node))
    return tree


def _pg_regexp_extract(node: exp.RegexpExtract) -> exp.Expression:
    """regexp_extract(x, pattern[, group]) as DuckDB computes it: the group (0: the whole match), '' when
    nothing matches, NULL only for a NULL x. PostgreSQL's regexp_match gives the capture groups, NULL on no match."""
    x, pattern = node.this, node.expression
    group = node.args.get("group") or exp.Literal.number(0)
    if not (isinstance(group, exp.Literal) and group.is_int and isinstance(pattern, exp.Literal)):
        raise TranspileError(f"regexp_extract needs a literal pattern and group on PostgreSQL: {node.sql()}")
    if int(group.this) == 0:
        pattern, group = exp.Literal.string(f"({pattern.this})"), exp.Literal.number(1)
    match = exp.Bracket(
        this=exp.Paren(this=exp.Anonymous(this="regexp_match", expressions=[x.copy(), pattern])),
        expressions=[group],
        offset=1,
    )
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=exp.Null())],
        default=exp.Coalesce(this=match, expressions=[exp.Literal.string("")]),
    )


def _half_away_from_zero(node: exp.Round) -> exp.Expression:
    """round(x[, n]) as DuckDB rounds, for PostgreSQL (see _for_engine; its round(double) would round half to
    even); a non-literal n casts x to NUMERIC."""
    digits = node.args.get("decimals") or exp.Literal.number(0)
    if not (isinstance(digits, exp.Literal) and digits.is_int):
        node.set("this", exp.cast(node.this, exp.DataType.build("DECIMAL")))
        return node
    scale = exp.Literal.number(10 ** int(digits.this))
    x = node.this
    magnitude = _rounded_magnitude(x, scale)
    return exp.Paren(
        this=exp.Div(
            this=exp.Mul(this=exp.Sign(this=x.copy()), expression=magnitude),
            expression=scale.copy(),
            typed=True,
        )
    )


def _for_spark(tree: exp.Expression) -> exp.Expression:
    """What SQLGlot leaves DuckDB-typed, for Spark:
    - x / y and avg(x) are DOUBLE in DuckDB, decimals included; Spark keeps a decimal result at a scale of its own
      (avg of 0.0/1.0 flags came back with 5 places), so their argument goes in as a DOUBLE;
    - quantile_cont(x, q) becomes percentile_cont(x, q), which Spark takes only as an ordered-set aggregate; its
      percentile(x, q) interpolates linearly as DuckDB's quantile_cont does;
    - a JSON array cast to JSON[] (to unnest its elements) is read with from_json as array<string>: Spark has no
      JSON type, and an object element of such an array comes back as its JSON text;
    - round(double, n) in Spark rounds the double's shortest decimal text (123.445 is 123.44499999999999 and
      DuckDB gives 123.44, Spark 123.45): written out as DuckDB computes it (see _spark_round)."""
    double = exp.DataType.build("DOUBLE")
    for node in list(tree.find_all(exp.Cast)):
        if node.to.is_type("array") and node.to.expressions and node.to.expressions[0].is_type("json"):
            node.replace(
                exp.Anonymous(
                    this="from_json", expressions=[node.this.copy(), exp.Literal.string("array<string>")]
                )
            )
    for node in list(tree.find_all(exp.Div)):
        if not node.args.get("typed"):
            node.set("this", exp.cast(node.this, double))
    for node in list(tree.find_all(exp.Avg)):
        arg = node.this.expressions[0] if isinstance(node.this, exp.Distinct) else node.this
        arg.replace(exp.cast(arg.copy(), double))
    for node in list(tree.find_all(exp.PercentileCont)):
        if node.args.get("expression") is not None:
            node.replace(
                exp.Anonymous(this="percentile", expressions=[node.this.copy(), node.expression.copy()])
            )
    for node in sorted(
        tree.find_all(exp.Round), key=lambda n: -n.depth
    ):  # innermost first, as for PostgreSQL
        node.replace(_spark_round(node))
    return tree


def _rounded_magnitude(x: exp.Expression, scale: exp.Literal) -> exp.Expression:
    """floor(abs(x) * scale + 0.5): |x| rounded half up at scale, the core of DuckDB's round on both engines."""
    return exp.Floor(
        this=exp.Add(
            this=exp.Mul(this=exp.Abs(this=x.copy()), expression=scale), expression=exp.Literal.number("0.5")
        )
    )


def _spark_round(node: exp.Round) -> exp.Expression:
    """round(x, n) half away from zero in x's own arithmetic: floor(abs(x) * 10^n + 0.5) / 10^n with x's sign.
    A double stays a double (Spark's floor gives a BIGINT, and dividing it a DOUBLE), a decimal stays exact; the
    sign is a CASE, not sign(x), which Spark returns as a DOUBLE even for a decimal."""
    digits = node.args.get("decimals") or exp.Literal.number(0)
    if not (isinstance(digits, exp.Literal) and digits.is_int):
        return node
    scale = exp.Literal.number(10 ** int(digits.this))
    x = node.this
    magnitude = _rounded_magnitude(x, scale)
    signed = exp.If(
        this=exp.LT(this=x.copy(), expression=exp.Literal.number(0)),
        true=exp.Neg(this=magnitude.copy()),
        false=magnitude,
    )
    return exp.Paren(this=exp.Div(this=signed, expression=scale.copy(), typed=True))
