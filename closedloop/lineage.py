"""Which canonical columns this run's sources actually fill: meta.canon_input, read by checks/coverage.py.

Each source's mapping SQL says, statement by statement, which raw stream and columns feed each canonical
column (INSERT INTO canon.t (cols) SELECT exprs FROM raw.<source>__<stream>). Put against what collection
saw — a stream the account lacks (absent), a field it does not have (absent_fields), an Ironclad property no
record carries — that tells, per canonical column and source, whether it is filled, and if not, what is
missing and which setting names it.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from closedloop import settings as cfgmod
from closedloop.canonical import mapping_sql
from closedloop.sqlfiles import split_statements

CANON_INPUT_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE OR REPLACE TABLE meta.canon_input(table_name VARCHAR, column_name VARCHAR, source VARCHAR, stream VARCHAR,
    status VARCHAR, detail VARCHAR, setting VARCHAR);
"""


def _inserts(sql: str, schema: str):
    """(statement, target schema node, its canonical table, the SELECT, its main FROM table) of each
    INSERT INTO canon.<t> (cols) SELECT ... FROM <schema>.<table> in a mapping."""
    for _, stmt in split_statements(sql):
        try:
            tree = sqlglot.parse_one(stmt, read="duckdb")
        except sqlglot.errors.ParseError:
            continue
        if not isinstance(tree, exp.Insert) or not isinstance(tree.expression, exp.Select):
            continue
        target = tree.this
        if not isinstance(target, exp.Schema) or not isinstance(target.this, exp.Table):
            continue
        select = tree.expression
        source_from = select.args.get("from") or select.args.get("from_")
        main = source_from.this if source_from is not None else None
        if target.this.db != "canon" or not isinstance(main, exp.Table) or main.db != schema:
            continue
        yield stmt, target, target.this, select, main


def feeds(sql: str) -> list[tuple[str, str, str, set[str], set[str]]]:
    """(canon table, column, main raw stream, raw columns read, JSON property keys read) per mapped column."""
    out = []
    for _, target, table, select, main in _inserts(sql, "raw"):
        if "__" not in main.name:
            continue
        main_alias = main.alias_or_name
        stream = main.name.split("__", 1)[1]
        columns = [c.name for c in target.expressions]
        for column, expr in zip(columns, select.expressions, strict=False):
            raw_cols = {
                c.name for c in expr.find_all(exp.Column) if not c.table or c.table in (main_alias, main.name)
            }
            # the property is the first key of a JSON path ($."key".value); SQLGlot parses the path
            props = {
                path.expressions[1].this
                for path in expr.find_all(exp.JSONPath)
                if len(path.expressions) > 1 and isinstance(path.expressions[1], exp.JSONPathKey)
            }
            out.append((table.name, column, stream, raw_cols, props))
    return out


_WHEN = re.compile(r"^\s*--\s*when\s+(\w+)\s*=", re.M)


def derived_links(sql: str) -> list[tuple[str, str, str, str | None]]:
    """(canon table, column, origin table, guarding setting) where a mapping derives rows from another canonical
    table and copies the origin's key into a column: that column links each derived row to its own origin.

    E.g. billing-schedule lines derived from milestones (milestone_schedules = 'clm_milestones'): the line's
    milestone_id is the milestone it was made from, so a check comparing the two reads the same record twice.
    """
    out = []
    for stmt, target, table, select, main in _inserts(sql, "canon"):
        guard = _WHEN.search(stmt)
        for column, expr in zip([c.name for c in target.expressions], select.expressions, strict=False):
            key = f"{main.name}_id"  # the origin's key copied into a column of that name: a link, not the row's id
            if column == key and isinstance(expr, exp.Column) and expr.name == key:
                out.append((table.name, column, main.name, guard.group(1) if guard else None))
    return out


def _settings_by_vendor_name(key: str, scfg: dict) -> dict[str, str]:
    """Vendor field name -> the config key that names it (the mapping's placeholders are settings)."""
    module = cfgmod.source_module(scfg["kind"])
    params = dict(module.mapping_params(scfg)) if hasattr(module, "mapping_params") else {}
    declared = {s.name for s in getattr(module, "SETTINGS", [])}
    out: dict[str, str] = {}
    for placeholder, vendor in params.items():
        if placeholder in declared:
            setting = f"sources.{key}.{placeholder}"
        elif placeholder.startswith("p_"):
            setting = f"sources.{key}.properties.{placeholder[2:]}"
        else:  # NetSuite custom fields and records: keyed by their default name
            setting = f"sources.{key}.custom_fields.{placeholder}"
        out.setdefault(str(vendor), setting)
    return out


def _declared_properties(con: duckdb.DuckDBPyConnection, source: str, streams: dict) -> set[str] | None:
    """Property keys the tenant declares (Ironclad GET /records/metadata); None without that evidence.

    Records leave out properties they have no value for, so only the metadata can say a key does not exist.
    """
    meta = streams.get("records_metadata")
    if meta is None or not _rows(meta) or getattr(meta, "error", None):
        return None
    keys: set[str] = set()
    for (names,) in con.execute(
        f"SELECT json_keys(properties) FROM raw.{source}__records_metadata"
    ).fetchall():
        keys.update(names or [])
    return keys or None


def record(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, keys: list[str], sources: list[Any]) -> None:
    """Write meta.canon_input for this run: one row per (canonical column, source) the mappings declare."""
    con.execute(CANON_INPUT_DDL)
    results = {s.source: s for s in sources}
    rows = []
    for key in keys:
        found = mapping_sql(key, cfg.sources[key])
        res = results.get(key)
        if not found or res is None:
            continue
        streams = {st.stream: st for st in res.streams}
        names = _settings_by_vendor_name(key, cfg.sources[key])
        mapped = feeds(found[1])
        declared = _declared_properties(con, key, streams)
        for table, column, stream, raw_cols, props in mapped:
            st = streams.get(stream)
            status, detail, setting = "present", None, None
            if st is not None and getattr(st, "status", None) == "absent":
                status = "absent"
                detail = f"{key} stream {stream} is absent ({getattr(st, 'absent_reason', None) or 'not in the source'})"
            elif st is not None:
                gone = set(getattr(st, "absent_fields", None) or ())
                if raw_cols and raw_cols <= gone:
                    status = "absent"
                    field = sorted(raw_cols)[0]
                    detail = f"{key} {stream}.{field} is not in the source"
                    setting = names.get(field)
                elif props and declared is not None and not (props & declared):
                    status = "absent"
                    prop = sorted(props)[0]
                    detail = f"{key} {stream}: the tenant has no property {prop!r} (records metadata)"
                    setting = names.get(prop)
            if column == "correlation_id":  # resolved through the flow's references when a record lacks it
                status, detail, setting = "present", None, None
            rows.append((table, column, key, stream, status, detail, setting))
        for table, column, origin, guard in derived_links(found[1]):
            detail = (
                f"{key} derives canon.{table} from canon.{origin}: each row's {column} is the {origin} it was"
                f" made from, so the two cannot differ"
            )
            rows.append(
                (table, column, key, f"canon.{origin}", "derived", detail, guard and f"sources.{key}.{guard}")
            )
    if rows:
        con.executemany("INSERT INTO meta.canon_input VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _rows(st: Any) -> int:
    return int(getattr(st, "rows", 0) or 0)
