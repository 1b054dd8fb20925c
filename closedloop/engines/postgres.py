"""PostgreSQL through psycopg 3: statements as sent, Arrow in through COPY, Arrow out through a cursor."""

from __future__ import annotations

import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv

from closedloop.engines import EngineUnreachable, redact, redact_url

# Arrow type -> PostgreSQL column type for a table the engine receives (the canonical model, helpers).
_SCALARS = {
    pa.string(): "TEXT",
    pa.large_string(): "TEXT",
    pa.bool_(): "BOOLEAN",
    pa.int8(): "SMALLINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float32(): "REAL",
    pa.float64(): "DOUBLE PRECISION",
    pa.date32(): "DATE",
    pa.null(): "TEXT",
}


def pg_type(t: pa.DataType) -> str:
    """The column type a PostgreSQL table needs to hold an Arrow column without changing its values."""
    if t in _SCALARS:
        return _SCALARS[t]
    if pa.types.is_decimal(t):
        return f"NUMERIC({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_time(t):
        return "TIME"
    raise TypeError(f"no PostgreSQL column type for Arrow {t}")


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as the libpq URL psycopg takes."""
    scheme, sep, rest = url.partition("://")
    return ("postgresql" + sep + rest) if sep and scheme.startswith("postgres") else url


STATEMENT_TIMEOUT = "30min"


class PostgresEngine:
    kind = "postgres"
    dialect = "postgres"

    def __init__(self, url: str, password: str | None = None) -> None:
        import psycopg

        self.url = url
        try:
            self.conn = psycopg.connect(
                libpq_url(url), password=password, autocommit=True, connect_timeout=10
            )
        except psycopg.Error as exc:
            raise EngineUnreachable(
                f"cannot reach PostgreSQL at {redact_url(url)}: {redact(str(exc).strip(), password)}"
            ) from None
        self.conn.execute("SET TIME ZONE 'UTC'")
        # a runaway rule becomes an errored check with PostgreSQL's message, not a run that never ends
        self.conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def fetch_arrow(self, sql: str) -> pa.Table:
        with self.conn.cursor() as cur:
            cur.execute(sql)
            names = [d.name for d in cur.description]
            rows = cur.fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
        return pa.table({n: _column(c) for n, c in zip(names, cols, strict=True)})

    def create_table(self, name: str, table: pa.Table) -> int:
        # DuckDB matches column names case-blind and transpiling writes them lower-case (checks/transpile.py)
        names = [f.name.lower() for f in table.schema]
        if len(set(names)) < len(names):
            raise ValueError(f"{name}: column names that differ only in case: {table.schema.names}")
        cols = ", ".join(f'"{n}" {pg_type(f.type)}' for n, f in zip(names, table.schema, strict=True))
        self.conn.execute(f"DROP TABLE IF EXISTS {name} CASCADE")
        self.conn.execute(f"CREATE TABLE {name} ({cols})")
        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
        data = buf.getvalue()
        with self.conn.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy:
            copy.write(data)
        self.analyze(name)
        return len(data)

    def create_as(self, name: str, select: str, *, materialize: bool) -> None:
        kind = "TABLE" if materialize else "VIEW"
        self.conn.execute(f"DROP {kind} IF EXISTS {name} CASCADE")  # the helpers built on it go too
        self.conn.execute(f"CREATE {kind} {name} AS\n{select}")
        if materialize:
            self.analyze(name)

    def analyze(self, name: str) -> None:
        # statistics now, not whenever autovacuum gets to a fresh table: otherwise a rule's plan depends on whether
        # autovacuum's pass came before it, and the same run is fast or slow by chance
        self.conn.execute(f"ANALYZE {name}")

    def close(self) -> None:
        self.conn.close()


def _column(values: tuple) -> pa.Array:
    """One result column as Arrow; NUMERIC stays Decimal (scale of the widest value) so cents are exact."""
    if any(isinstance(v, Decimal) for v in values):
        scale = max((-v.as_tuple().exponent for v in values if isinstance(v, Decimal)), default=0)
        return pa.array(values, type=pa.decimal128(38, max(scale, 0)))
    return pa.array(values)
