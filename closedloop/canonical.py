"""The canonical model of a run: schema, each source's mapping SQL, cross-source resolution, snapshot_meta."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from closedloop import settings as cfgmod
from closedloop import valuemaps
from closedloop.sqlfiles import PipelineError, run_sql_file, split_statements
from collectors.runner import raw_table

if TYPE_CHECKING:
    from closedloop.pipeline import RunReport

CANON_DIR = Path(__file__).parent / "canon"
# CRM owns accounts, CLM owns executed terms, ERP owns financial masters: mapped in that order, by the role
# a collector module declares (SYSTEM), so a Dynamics 365 CRM maps where Salesforce would.
ROLE_ORDER = ("REF", "CRM", "CLM", "ERP", "INT")
MAPPING_ORDER = ("reference", "salesforce", "ironclad", "netsuite", "middleware")  # the demo firm's sources


def mapping_sql(key: str, scfg: dict) -> tuple[Path, str] | None:
    """The source's raw → canon SQL with its ${placeholders} filled from config; None if it has none."""
    module = cfgmod.source_module(scfg["kind"])
    path = getattr(module, "MAPPING", None)
    if callable(path):
        path = path(scfg)
    if not path:
        return None
    path = Path(path)
    params = dict(module.mapping_params(scfg)) if hasattr(module, "mapping_params") else {}
    params.setdefault("source", key)
    text = select_variants(path.read_text(encoding="utf-8"), module, scfg, path)
    text = string.Template(text).safe_substitute(params)
    # a generated value (keys and links SQL) may name the source's own raw tables: ${source} once more
    text = string.Template(text).safe_substitute(source=params["source"])
    left = sorted(set(re.findall(r"\$\{(\w+)\}", text)))
    if left:
        raise PipelineError(f"{path}: no value for placeholder(s) {', '.join(left)} (source {key})")
    return path, text


# A statement whose leading comment holds `-- when <setting> = '<value>'` belongs to one modeling variant.
_WHEN = re.compile(r"^\s*--\s*when\s+(\w+)\s*(=|<>)\s*'([^']*)'\s*$", re.M)


def select_variants(text: str, module, scfg: dict, path: Path) -> str:
    """Mapping SQL selects a modeling variant by config, never by code edits: a statement guarded by
    `-- when <setting> = '<value>'` runs only when the source's setting has that value (its declared default
    when the section leaves it out). Statements of other variants are blanked line for line, so an error
    still names the file's own line and a variant may read raw tables the others do not declare."""
    if "-- when" not in text and "--when" not in text:
        return text
    defaults = {s.name: s.default for s in getattr(module, "SETTINGS", [])}
    lines = text.split("\n")
    for start, stmt in split_statements(text):
        head = stmt.split("\n")
        head = "\n".join(
            head[: next((i for i, ln in enumerate(head) if not ln.lstrip().startswith("--")), 0)]
        )
        for name, op, value in _WHEN.findall(head):
            if name not in defaults:
                raise PipelineError(
                    f"{path}: line {start} guards on {name!r}, which is not a setting of the source"
                )
            actual = str(scfg.get(name, defaults[name]))
            if (actual == value) != (op == "="):
                lines[start - 1 : start - 1 + stmt.count("\n") + 1] = [""] * (stmt.count("\n") + 1)
                break
    return "\n".join(lines)


def ordered(sources: dict[str, dict]) -> list[str]:
    def rank(key: str) -> tuple[int, str]:
        role = getattr(cfgmod.source_module(sources[key]["kind"]), "SYSTEM", None)
        return (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), key)

    return sorted(sources, key=rank)


def build_canon(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, keys: list[str]) -> dict[str, int]:
    """Create the canonical model and fill it from every source's raw tables, then resolve across sources."""
    run_sql_file(con, CANON_DIR / "schema.sql")
    for key in keys:
        found = mapping_sql(key, cfg.sources[key])
        if found:
            marks = valuemaps.row_marks(con)
            run_sql_file(con, found[0], found[1])
            scfg = cfg.sources[key]
            valuemaps.apply(con, key, scfg["kind"], scfg.get("values"), marks)
    resolve = CANON_DIR / "resolve.sql"
    if resolve.exists():
        run_sql_file(con, resolve)
    check_key_agreement(con)
    valuemaps.record_unmapped(con)
    rows = con.execute(
        "SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'canon' ORDER BY 1"
    ).fetchall()
    return {t: con.execute(f"SELECT count(*) FROM canon.{t}").fetchone()[0] for t, _ in rows}


# References between entities that different systems key: (child table, column, parent table, column, the
# settings that choose the keys, {child}/{parent} being the source keys). Systems that key an entity differently
# (an opaque CLM record id against the SOW number the ERP holds, a project's internal id against its entity id)
# leave *none* of a source's references matching: a configuration error, never a finding on every flow.
KEY_AGREEMENT = (
    (
        "project",
        "sow_id",
        "sow",
        "sow_id",
        "sources.{parent}.keys.sow, sources.{child}.custom_fields.custentity_sow_id",
    ),
    ("sow", "contract_id", "contract", "contract_id", "sources.{parent}.keys.msa, sources.{child}.links"),
    (
        "milestone",
        "project_id",
        "project",
        "project_id",
        "sources.{parent}.project_key, sources.{child}.properties",
    ),
    (
        "invoice",
        "project_id",
        "project",
        "project_id",
        "sources.{parent}.project_key, project_links.transaction",
    ),
    (
        "time_entry",
        "project_id",
        "project",
        "project_id",
        "sources.{parent}.project_key, project_links.timebill",
    ),
)


def check_key_agreement(con: duckdb.DuckDBPyConnection) -> None:
    """Fail the build when no reference of a source matches its parent's key (see KEY_AGREEMENT)."""
    for table, col, parent, pcol, hint in KEY_AGREEMENT:
        parents = con.execute(
            f"SELECT string_agg(DISTINCT source_system, ', ') FROM canon.{parent}"
        ).fetchone()[0]
        if not parents:
            continue
        rows = con.execute(
            f"SELECT c.source_system, count(*), count(p.k)"
            f" FROM (SELECT DISTINCT source_system, {col} AS v FROM canon.{table} WHERE {col} IS NOT NULL) c"
            f" LEFT JOIN (SELECT DISTINCT {pcol} AS k FROM canon.{parent}) p ON p.k = c.v"
            f" GROUP BY c.source_system ORDER BY 1"
        ).fetchall()
        for child, n, hits in rows:
            if n and not hits:
                fix = hint.format(child=child, parent=parents.split(", ")[0])
                raise PipelineError(
                    f"keys: none of the {n} canon.{table}.{col} values from {child} match a canon.{parent}.{pcol}"
                    f" (from {parents}): the two systems key {parent} differently; check {fix}"
                )


# Canonical tables whose source_system column describes the record, not the source it came from.
_OWN_SOURCE_COLUMN = {"integration_event": "middleware"}


def snapshot_meta(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, report: RunReport) -> None:
    """Per source and canonical table: when it was extracted, rows, status, newest source-side change.

    Keyed by canonical table because checks depend on canonical tables (gating by Q2C-105/106);
    the per-stream view of the same run stays in meta.source_run.
    """
    newest = newest_modification(con, cfg, report)
    status = {s.source: ("ok" if s.status in ("ok", "carried") else "failed") for s in report.sources}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _source_state(source VARCHAR, status VARCHAR, newest TIMESTAMPTZ)"
    )
    for src, st in status.items():
        con.execute("INSERT INTO _source_state VALUES (?, ?, ?)", [src, st, newest.get(src)])
    tables = con.execute(
        "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'canon' AND column_name = 'snapshot_ts'"
        " AND table_name IN (SELECT table_name FROM duckdb_columns() WHERE schema_name = 'canon'"
        " AND column_name = 'source_system') AND table_name <> 'snapshot_meta' ORDER BY 1"
    ).fetchall()
    for (table,) in tables:
        if table in _OWN_SOURCE_COLUMN:  # its source_system is the event's origin, not our source key
            continue
        con.execute(
            f"INSERT INTO canon.snapshot_meta SELECT t.source_system, '{table}', min(t.snapshot_ts), count(*),"
            f" coalesce(any_value(s.status), 'ok'), any_value(s.newest)"
            f" FROM canon.{table} t LEFT JOIN _source_state s ON s.source = t.source_system GROUP BY t.source_system"
        )
    for table, kind in _OWN_SOURCE_COLUMN.items():
        for key, scfg in cfg.sources.items():
            if scfg["kind"] == kind and key in status:
                con.execute(
                    f"INSERT INTO canon.snapshot_meta SELECT ?, '{table}', min(snapshot_ts), count(*), ?, ?"
                    f" FROM canon.{table} HAVING count(*) > 0",
                    [key, status[key], newest.get(key)],
                )
    # a failed source that left a table empty still has a row, so gating sees it as not ok
    con.execute(
        "INSERT INTO canon.snapshot_meta SELECT s.source, r.stream, NULL, 0, 'failed', NULL"
        " FROM _source_state s JOIN meta.source_run r ON r.source = s.source AND r.run_id = ?"
        " WHERE s.status = 'failed' AND r.status = 'failed'",
        [report.run_id],
    )


def newest_modification(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, report: RunReport) -> dict:
    """The newest cursor value (SystemModstamp, lastmodifieddate, ...) per source: its freshness signal."""
    newest: dict = {}
    for res in report.sources:
        try:
            streams = {
                s.name: s
                for s in cfgmod.source_module(cfg.sources[res.source]["kind"]).streams(
                    cfg.sources[res.source]
                )
            }
        except Exception:  # a source without declarations (generic files/sql) has no cursor
            continue
        for st in res.streams:
            stream = streams.get(st.stream)
            if stream is None or not stream.cursor_field or st.error or not st.rows:
                continue
            try:
                value = con.execute(
                    f'SELECT max(TRY_CAST("{stream.cursor_field}" AS TIMESTAMPTZ)) FROM {raw_table(res.source, st.stream)}'
                ).fetchone()[0]
            except duckdb.Error:
                continue
            if value is not None and (res.source not in newest or value > newest[res.source]):
                newest[res.source] = value
    return newest
