"""SQL files run statement by statement, so an error names the file and the line it starts on."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb


class PipelineError(Exception):
    """A step of the run failed; the message names the step and what broke."""


def split_statements(sql: str) -> list[tuple[int, str]]:
    """Statements of a SQL file with their starting line, so an error can name the line.

    Semicolons inside quoted strings, quoted identifiers, -- comments and /* */ comments do not split.
    """
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    line, start, i, n = 1, 1, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            j = i + 1
            while j < n and not (sql[j] == ch and (j + 1 >= n or sql[j + 1] != ch)):
                j += 2 if sql[j] == ch else 1
            chunk = sql[i : j + 1]
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            chunk = sql[i : (j if j >= 0 else n)]
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            chunk = sql[i : (j + 2 if j >= 0 else n)]
        else:
            chunk = ch
        if not buf and not chunk.strip():
            line += chunk.count("\n")
            start = line
            i += len(chunk)
            continue
        buf.append(chunk)
        line += chunk.count("\n")
        i += len(chunk)
        if chunk == ";":
            stmt = "".join(buf).strip()
            if _has_code(stmt):
                out.append((start, stmt))
            buf, start = [], line
    tail = "".join(buf).strip()
    if _has_code(tail):
        out.append((start, tail))
    return out


def _has_code(stmt: str) -> bool:
    """False for a chunk that is only comments and semicolons."""
    text = re.sub(r"/\*.*?\*/", "", stmt, flags=re.S)
    return any(ln.split("--", 1)[0].strip(" ;\t") for ln in text.splitlines())


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, text: str | None = None) -> None:
    text = path.read_text(encoding="utf-8") if text is None else text
    for line, stmt in split_statements(text):
        try:
            con.execute(stmt)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise PipelineError(f"{path.name} line {line}: {first}") from exc
