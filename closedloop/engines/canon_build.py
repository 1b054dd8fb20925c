"""The canonical model built on the engine ([engine] canonical = "build"): the run's raw tables go there and the
same files build it (canon/schema.sql, each source's mapping SQL, the value maps, canon/resolve.sql), transpiled
statement by statement as the rules are. Nothing is rewritten per engine; what the engine lacks is written out
generically here:

- a DuckDB macro (CREATE TEMP MACRO) is expanded into every later call of it, its parameters replaced by the
  call's arguments;
- a guard (a SELECT calling error(message)) is asked for its message instead; a row stops the build with it;
- TRY_CAST on PostgreSQL, which has none, is a function in the work schema returning NULL where the cast fails;
- UPDATE and DELETE on Spark (its tables take neither without Delta Lake) rewrite the table from a snapshot of
  itself: each row with its new values where it matches, by a row id the snapshot gives it (see _spark_rewrite).

The local build (closedloop/canonical.py) still runs: the data contracts, the monitors and the trace page read
the run file. Its observations (unmapped values, key agreement, snapshot_meta) are the run's; the engine gets
the run's snapshot_meta as is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import sqlglot
from sqlglot import exp

from checks.loader import sql_literal
from closedloop import valuemaps
from closedloop.canonical import CANON_DIR, mapping_sql, ordered
from closedloop.sqlfiles import PipelineError, split_statements

if TYPE_CHECKING:
    from checks.remote import Remote
    from closedloop.settings import Config


def tables_of(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The run's tables of a schema, as schema.table."""
    rows = con.execute(
        "SELECT ? || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = ? ORDER BY 1",
        [schema, schema],
    ).fetchall()
    return [r[0] for r in rows]


def column_types(con: duckdb.DuckDBPyConnection, logical: str) -> dict[str, str]:
    """Column -> DuckDB type of one of the run's tables (schema.table), in column order."""
    schema, table = logical.split(".", 1)
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, table],
    ).fetchall()
    if not rows:
        raise PipelineError(f"{logical} is not a table of the run's model")
    return dict(rows)


def build_on_engine(con: duckdb.DuckDBPyConnection, cfg: Config, remote: Remote) -> None:
    """The run's raw tables to the engine, then the canonical model built there from them."""
    for logical in tables_of(con, "raw"):
        remote.send(con, logical)
    builder = Builder(remote, con)
    builder.run_file(CANON_DIR / "schema.sql", (CANON_DIR / "schema.sql").read_text())
    for key in ordered(cfg.sources):
        found = mapping_sql(key, cfg.sources[key])
        if found:
            builder.run_file(*found)
            scfg = cfg.sources[key]
            builder.apply_values(key, scfg["kind"], scfg.get("values"))
    builder.run_file(CANON_DIR / "resolve.sql", (CANON_DIR / "resolve.sql").read_text())
    remote.send(con, "canon.snapshot_meta")  # the run's own observation of its sources, computed locally
    # statistics now, as for a table sent: a rule planned over a freshly filled table without them ran for
    # minutes on PostgreSQL where it takes a second
    for logical in tables_of(con, "canon"):
        remote.engine.analyze(remote.name(logical))


class Builder:
    """Statements of the canonical build, run on the engine one by one (macros remembered between them)."""

    def __init__(self, remote: Remote, con: duckdb.DuckDBPyConnection) -> None:
        self.remote, self.con = remote, con
        self.macros: dict[str, tuple[list[str], exp.Expression]] = {}
        self.functions: set[str] = set()  # the work schema's try-cast functions created by this build
        self.scratch = 0

    def run_file(self, path: Path, text: str) -> None:
        for start, stmt in split_statements(text):
            try:
                self.run(stmt)
            except PipelineError as exc:
                raise PipelineError(f"{path}: line {start}: {exc}") from None
            except Exception as exc:
                raise PipelineError(
                    f"{path}: line {start} does not run on {self.remote.engine.kind}: {exc}"
                ) from None

    def run(self, stmt: str) -> None:
        tree = sqlglot.parse_one(stmt, read="duckdb")
        if isinstance(tree, exp.Create) and tree.kind == "MACRO":
            fn = tree.this  # UserDefinedFunction(this=Table(name), expressions=[parameters])
            self.macros[fn.this.name.lower()] = ([p.name.lower() for p in fn.expressions], tree.expression)
            return
        if isinstance(tree, exp.Drop) and tree.kind == "MACRO":
            return
        tree = self._expanded(tree)
        if self.remote.engine.dialect == "postgres":
            tree = self._pg_try_casts(tree)
        guard = _guard_message(tree)
        if guard is not None:
            rows = self.remote.engine.fetch_arrow(self.sql(guard))
            if rows.num_rows:
                raise PipelineError(str(rows.column(0)[0].as_py()))
            return
        if self.remote.engine.dialect == "spark" and isinstance(tree, (exp.Update, exp.Delete)):
            for sql in self._spark_rewrite(tree):
                self.remote.engine.execute(sql)
            return
        self.remote.engine.execute(self.sql(tree))

    def sql(self, tree: exp.Expression) -> str:
        """The statement for the engine, its canon.* and raw.* tables where they live there."""
        return self.remote.sql(tree.sql(dialect="duckdb"), {})

    def _expanded(self, tree: exp.Expression) -> exp.Expression:
        """Every call of a macro replaced by its body, parameters by arguments (innermost calls first)."""
        if not self.macros:
            return tree
        for call in sorted(tree.find_all(exp.Anonymous), key=lambda n: -n.depth):
            macro = self.macros.get(str(call.this).lower())
            if macro is None:
                continue
            params, body = macro
            args = dict(zip(params, call.expressions, strict=True))
            expanded = body.copy()
            for col in list(expanded.find_all(exp.Column)):
                if not col.table and col.name.lower() in args:
                    col.replace(args[col.name.lower()].copy())
            call.replace(exp.Paren(this=expanded))
        return tree

    def _pg_try_casts(self, tree: exp.Expression) -> exp.Expression:
        """TRY_CAST(x AS t) as a function in the work schema that returns NULL where the cast fails, as DuckDB's
        does: PostgreSQL has no TRY_CAST, and a CAST of one malformed vendor value ("N/A" in a money property)
        would stop the whole build."""
        for node in list(tree.find_all(exp.TryCast)):
            pg_type = node.to.sql(dialect="postgres")
            fn = f"{self.remote.work_schema}.cl_try_cast_{re.sub(r'[^a-z0-9]+', '_', pg_type.lower()).strip('_')}"
            if fn not in self.functions:
                self.remote.engine.execute(
                    f"CREATE OR REPLACE FUNCTION {fn}(v text) RETURNS {pg_type} LANGUAGE plpgsql IMMUTABLE AS"
                    f" $f$ BEGIN RETURN v::{pg_type}; EXCEPTION WHEN others THEN RETURN NULL; END $f$"
                )
                self.functions.add(fn)
            call = exp.Anonymous(this=fn, expressions=[exp.cast(node.this.copy(), "VARCHAR")])
            node.replace(call)
        return tree

    # --- the value maps, as closedloop/valuemaps.py applies them locally ---------------------------------
    def apply_values(self, source: str, kind: str, configured: Any) -> None:
        """The vendor values of `source`'s rows translated to canonical ones (unknown ones to NULL), as the local
        build does; its rows are those it stamped with its key (integration events carry their origin)."""
        maps = valuemaps.source_map(kind, configured)
        for table, columns in valuemaps.enumerated_columns().items():
            # an integration event's source_system is its origin; only the middleware's mapping writes them
            scope = "TRUE" if table == "integration_event" else f"source_system = {sql_literal(source)}"
            for column in columns:
                seen = self.remote.engine.fetch_arrow(
                    self.remote.sql(
                        f"SELECT DISTINCT {column} FROM canon.{table} WHERE {scope} AND {column} IS NOT NULL",
                        {},
                    )
                ).column(0)
                m = maps[f"{table}.{column}"]
                changes = [(v, m.get(valuemaps.normalize(v))) for v in seen.to_pylist()]
                changes = [(v, c) for v, c in changes if c != v]
                if not changes:
                    continue
                whens = " ".join(f"WHEN {sql_literal(v)} THEN {sql_literal(c)}" for v, c in changes)
                values = ", ".join(sql_literal(v) for v, _ in changes)
                self.run(
                    f"UPDATE canon.{table} SET {column} = CASE {column} {whens} END"
                    f" WHERE {scope} AND {column} IN ({values})"
                )

    # --- UPDATE and DELETE on Spark -------------------------------------------------------------------
    def _spark_rewrite(self, tree: exp.Update | exp.Delete) -> list[str]:
        """The statement as a rewrite of its table from a snapshot of it: each row kept (DELETE: unless it
        matches) with its new values where it matches. UPDATE ... FROM finds each row's values through a
        row id the snapshot gives it (any one match, as DuckDB's UPDATE ... FROM takes). Every mention of the
        table in the statement reads the snapshot: Spark refuses to overwrite a table the statement reads."""
        target = tree.this
        logical = f"{target.db}.{target.name}"
        alias = target.alias or target.name
        self.scratch += 1
        snap, hits = f"{logical}__snap{self.scratch}", f"{logical}__hit{self.scratch}"
        columns = column_types(self.con, logical)  # the engine's was created from the same schema.sql

        def to_snapshot(node: exp.Expression) -> exp.Expression:
            node = node.copy()
            for t in list(node.find_all(exp.Table)):
                if t.db == target.db and t.name == target.name:
                    t.replace(exp.to_table(snap).as_(t.alias or t.name))
            return node

        where = tree.args.get("where")
        cond = to_snapshot(where.this) if where else exp.true()
        out = [
            f"DROP TABLE IF EXISTS {snap}",
            f"CREATE TABLE {snap} AS SELECT *, monotonically_increasing_id() AS __rid FROM {logical}",
        ]
        if isinstance(tree, exp.Delete):
            keep = f"NOT coalesce(({cond.sql(dialect='duckdb')}), false)"
            out.append(
                f"INSERT OVERWRITE TABLE {logical} SELECT {', '.join(columns)} FROM {snap} AS {alias}"
                f" WHERE {keep}"
            )
            return [self.remote.sql(sql, {}) for sql in [*out, f"DROP TABLE {snap}"]]
        sets = {e.this.name.lower(): to_snapshot(e.expression) for e in tree.expressions}
        source = tree.args.get("from_") or tree.args.get("from")
        if source is None:  # each row's new values from itself: no row id needed
            picked = {c: (cond.sql(dialect="duckdb"), v.sql(dialect="duckdb")) for c, v in sets.items()}
            body = f"FROM {snap} AS {alias}"
        else:
            firsts = ", ".join(f"first({v.sql(dialect='duckdb')}) AS __v_{c}" for c, v in sets.items())
            from_sql = to_snapshot(source).sql(dialect="duckdb")  # FROM <sources and their joins>
            out.append(f"DROP TABLE IF EXISTS {hits}")
            out.append(
                f"CREATE TABLE {hits} AS SELECT {alias}.__rid, {firsts} {from_sql}, {snap} AS {alias}"
                f" WHERE {cond.sql(dialect='duckdb')} GROUP BY {alias}.__rid"
            )
            picked = {c: ("h.__rid IS NOT NULL", f"h.__v_{c}") for c in sets}
            body = f"FROM {snap} AS {alias} LEFT JOIN {hits} AS h ON h.__rid = {alias}.__rid"
        cols = ", ".join(
            f"CASE WHEN {picked[c][0]} THEN CAST({picked[c][1]} AS {t}) ELSE {alias}.{c} END AS {c}"
            if c in picked
            else f"{alias}.{c}"
            for c, t in columns.items()
        )
        out.append(f"INSERT OVERWRITE TABLE {logical} SELECT {cols} {body}")
        if source is not None:
            out.append(f"DROP TABLE {hits}")
        return [self.remote.sql(sql, {}) for sql in [*out, f"DROP TABLE {snap}"]]


def _guard_message(tree: exp.Expression) -> exp.Expression | None:
    """A guard, `SELECT <expression calling error(message)> FROM ...`, as the SELECT of its message (each
    error(m) replaced by m); None for any other statement."""
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 1 or not _error_calls(tree):
        return None
    tree = tree.copy()
    for call in _error_calls(tree):
        call.replace(call.expressions[0])
    return tree


def _error_calls(select: exp.Select) -> list[exp.Anonymous]:
    return [c for c in select.expressions[0].find_all(exp.Anonymous) if str(c.this).lower() == "error"]
