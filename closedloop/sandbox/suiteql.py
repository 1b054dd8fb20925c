"""SuiteQL on the sandbox: the subset the collector sends, answered by DuckDB over the export items."""

from __future__ import annotations

import csv
import json
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from closedloop.sandbox.data import read_jsonl

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<cols>.+?)\s+FROM\s+(?P<table>[A-Za-z_]\w*)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_IDENT = re.compile(r"^[A-Za-z_]\w*$")
# TO_TIMESTAMP / TO_DATE comparisons: the column side is parsed the way NetSuite renders values
_TO_TS = re.compile(r"(\w+)\s*(>=|<=|<>|!=|=|>|<)\s*TO_TIMESTAMP\(\s*'([^']*)'\s*,\s*'[^']*'\s*\)", re.I)
_TO_DATE = re.compile(r"(\w+)\s*(>=|<=|<>|!=|=|>|<)\s*TO_DATE\(\s*'([^']*)'\s*,\s*'[^']*'\s*\)", re.I)
_FORBIDDEN = re.compile(r";|--|/\*|\b(ATTACH|COPY|PRAGMA|INSTALL|LOAD|CREATE|DROP|read_\w+)\b", re.I)
_MACROS = """
CREATE MACRO ns_ts(v) AS coalesce(TRY_CAST(v AS TIMESTAMPTZ),
    TRY_CAST(try_strptime(v, '%m/%d/%Y %I:%M %p') AS TIMESTAMPTZ),
    TRY_CAST(try_strptime(v, '%m/%d/%Y') AS TIMESTAMPTZ));
CREATE MACRO ns_date(v) AS coalesce(TRY_CAST(v AS DATE), TRY_CAST(try_strptime(v, '%m/%d/%Y') AS DATE));
"""


class SuiteQLError(Exception):
    """A query the sandbox (like NetSuite) refuses: USER_ERROR with NetSuite's wording."""

    def __init__(self, message: str, code: str = "USER_ERROR") -> None:
        super().__init__(message)
        self.code = code


def _search_error(detail: str) -> SuiteQLError:
    return SuiteQLError(
        "Invalid search query. Detailed unprocessed description follows. Search error occurred: " + detail
    )


def _unknown_field(table: str, name: str) -> SuiteQLError:
    """NetSuite's words for a column the account does not have (a custom field never created)."""
    return _search_error(
        f"Field '{name}' for record '{table}' was not found. Reason: UNKNOWN_FIELD - Unknown identifier"
        f" '{name}'. The field may not exist, or you may not have permission to access it."
    )


SCHEMA_FILE = "_schema.json"
CUSTOM_RECORD_TYPES = "customrecordtype"  # the list of the account's custom record types, as SuiteQL has it


def load_schema(path: Path) -> dict[str, list[str]] | None:
    """An estate's schema manifest ({table: [columns]}): what this account has, beyond what its exports show.

    Items omit nulls, so the exports alone cannot tell a column that is always empty from one the account
    lacks; with a manifest the sandbox refuses unknown tables and columns as NetSuite does, without one it
    answers every table it has a file for and every column (as null when no item has it).
    """
    if not path.is_file():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {str(t).lower(): [str(c).lower() for c in cols] for t, cols in doc.items()}


class SuiteQL:
    """Tables loaded on first use (items kept as exported, typed copies in DuckDB); results cached per query."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        for stmt in filter(str.strip, _MACROS.split(";")):
            self.con.execute(stmt)
        self.schema = load_schema(self.root / SCHEMA_FILE)
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.columns: dict[str, list[str]] = {}
        self._results: OrderedDict[str, tuple[str, list[str], list[int]]] = OrderedDict()
        self._lock = threading.Lock()

    def _path(self, table: str) -> Path | None:
        for ext in ("jsonl", "csv"):
            path = self.root / f"{table}.{ext}"
            if path.is_file():
                return path
        return None

    def _load(self, table: str) -> None:
        """Items as the export has them; a DuckDB copy with integer columns as BIGINT so keys order as numbers."""
        path = self._path(table)
        if table == CUSTOM_RECORD_TYPES and path is None:
            items = self._custom_record_types()
        elif (path is None and self.schema is None) or (self.schema is not None and table not in self.schema):
            raise _search_error(f"Record '{table}' was not found.")
        elif path is None:  # in the manifest, nothing exported: a table with no rows
            items = []
        elif path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as fh:
                items = [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(fh)]
        else:
            items = [{k: v for k, v in it.items() if k != "links"} for it in read_jsonl(path)]
        names = list(dict.fromkeys(k for it in items for k in it))
        arrays = {n: pa.array([_text(it.get(n)) for it in items], type=pa.string()) for n in names}
        arrays["_row"] = pa.array(range(len(items)), type=pa.int64())
        self.con.register("_load", pa.table(arrays))
        try:
            checks = ", ".join(f'count("{n}") = count(TRY_CAST("{n}" AS BIGINT))' for n in names)
            ints = self.con.execute(f"SELECT {checks} FROM _load").fetchone() if names else ()
            select = [
                f'CAST("{n}" AS BIGINT) AS "{n}"' if is_int else f'"{n}"'
                for n, is_int in zip(names, ints, strict=True)
            ]
            self.con.execute(f'CREATE TABLE "{table}" AS SELECT {", ".join(["_row", *select])} FROM _load')
        finally:
            self.con.unregister("_load")
        self.items[table], self.columns[table] = items, names

    def _custom_record_types(self) -> list[dict[str, Any]]:
        """The account's custom record types (SuiteQL's customrecordtype: script id in capitals, display name):
        the tables of the manifest, or the exported files, named customrecord_*."""
        tables = (
            self.schema if self.schema is not None else [p.stem for p in self.root.glob("customrecord_*.*")]
        )
        return [
            {
                "id": str(i),
                "scriptid": t.upper(),
                "name": t.removeprefix("customrecord_").replace("_", " ").title(),
            }
            for i, t in enumerate(sorted(t for t in tables if t.startswith("customrecord_")), start=1)
        ]

    def run(self, query: str) -> tuple[str, list[str], list[int]]:
        """(table, selected columns, matching item positions in query order), cached: pages reuse the result."""
        with self._lock:
            if query in self._results:
                self._results.move_to_end(query)
                return self._results[query]
            result = self._run(query)
            self._results[query] = result
            while len(self._results) > 64:
                self._results.popitem(last=False)
            return result

    def _run(self, query: str) -> tuple[str, list[str], list[int]]:
        m = _QUERY.match(query)
        if not m:
            raise _search_error("the query is not SELECT ... FROM ... [WHERE ...] [ORDER BY ...].")
        table = m["table"].lower()
        if table not in self.items:
            self._load(table)
        distinct = re.match(r"\s*DISTINCT\s+", m["cols"], re.I)
        cols = [c.strip() for c in m["cols"][distinct.end() if distinct else 0 :].split(",")]
        if cols == ["*"]:
            cols = self.schema[table] if self.schema is not None else self.columns[table]
        for c in cols:
            if not _IDENT.match(c):
                raise _search_error(f"the sandbox selects plain columns only, not {c!r}.")
        order = [o.strip() for o in (m["order"] or "").split(",") if o.strip()]
        if (
            self.schema is not None and table in self.schema
        ):  # the first name the account lacks, one per query
            known = set(self.schema[table])
            for name in [*cols, *_names(m["where"] or ""), *(o.split()[0] for o in order)]:
                if name.lower() not in known:
                    raise _unknown_field(table, name)
        where = self._where(m["where"]) if m["where"] else None
        for name in {*_names(m["where"] or ""), *(o.split()[0] for o in order), *(cols if distinct else ())}:
            if not _IDENT.match(name):
                raise _search_error(f"the sandbox orders by plain columns only, not {name!r}.")
            if name.lower() not in self.columns[table]:
                # a column no item has a value for: NetSuite omits nulls, so it is a null column here
                self.con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name.lower()}" VARCHAR')
                self.columns[table].append(name.lower())
        sql = f'SELECT _row FROM "{table}"' + (f" WHERE {where}" if where else "")
        if distinct:  # one item per distinct combination: its first occurrence stands for it
            group = ", ".join(f'"{c.lower()}"' for c in cols)
            sql = f'SELECT min(_row) AS _row FROM ({sql}) JOIN "{table}" USING (_row) GROUP BY {group}'
            sql = f"SELECT _row FROM ({sql})"
        sql += " ORDER BY " + ", ".join(
            [*(f'"{o.split()[0]}" {" ".join(o.split()[1:])}' for o in order), "_row"]
        )
        try:
            rows = [r[0] for r in self.con.execute(sql).fetchall()]
        except duckdb.Error as exc:
            raise _search_error(str(exc).splitlines()[0]) from None
        return table, cols, rows

    def _where(self, where: str) -> str:
        if _FORBIDDEN.search(where):
            raise _search_error("the condition uses a construct the sandbox does not answer.")
        where = _TO_TS.sub(lambda m: f"ns_ts({m[1]}) {m[2]} TIMESTAMPTZ '{m[3]}'", where)
        return _TO_DATE.sub(lambda m: f"ns_date({m[1]}) {m[2]} ns_date('{m[3]}')", where)

    def item(self, table: str, position: int, cols: list[str], dropped: set[str]) -> dict[str, Any]:
        """One item as SuiteQL returns it: links, then the selected columns that are not null."""
        src = self.items[table][position]
        out: dict[str, Any] = {"links": []}
        for c in cols:
            value = src.get(c)
            if value is not None and c not in dropped:
                out[c] = value
        return out


_WORDS = {"AND", "OR", "NOT", "NULL", "IS", "IN", "LIKE", "BETWEEN", "TRUE", "FALSE"}


def _names(where: str) -> set[str]:
    """Column names a condition refers to (not keywords, functions or string literals)."""
    bare = re.sub(r"'[^']*'", "''", where)
    return {n for n in re.findall(r"\b([A-Za-z_]\w*)\b(?!\s*\()", bare) if n.upper() not in _WORDS}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (dict, list, bool)) else str(value)
