"""Discover and parse rule files: a YAML header in a leading block comment, then one SELECT."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

CHECKS_DIR = Path(__file__).resolve().parent
RULES_DIR = CHECKS_DIR / "rules"
VIEWS_DIR = CHECKS_DIR / "views"
KPIS_DIR = CHECKS_DIR / "kpis"
SCHEMA_SQL = CHECKS_DIR.parent / "closedloop" / "canon" / "schema.sql"

REQUIRED_KEYS = (
    "id",
    "title",
    "severity",
    "owner",
    "domain",
    "systems",
    "description",
    "remediation",
    "impact_kind",
    "stage",
    "depends_on",
)
OPTIONAL_KEYS = ("params", "impact", "grace", "gating", "entity", "money")
# What part of its case's money a check measures: checks of one kind measuring the same part of the same case
# count it once (the largest figure); different parts add up. 'document' is the whole of the case's document.
DEFAULT_MONEY = "document"
MONEY_RE = re.compile(r"^[a-z][a-z_]{0,39}$")
SEVERITIES = ("S1", "S2", "S3", "S4")
# What a finding's amount means; amounts of different kinds are never added together.
IMPACT_KINDS = {
    "leakage": "revenue lost unless acted on",
    "exposure": "amount at risk: unbilled, uncontracted or unapproved",
    "cash": "amount whose collection is delayed or invisible",
    "compliance": "a control broken: counted by severity; any amount is what is affected, not money at stake",
}
MONEY_KINDS = ("leakage", "exposure", "cash")
# The flow in order: a case's root cause is its finding at the earliest stage (then the lowest check id).
STAGES = ("opportunity", "contract", "project", "schedule", "time", "invoice", "crm", "cash", "data")
ID_RE = re.compile(r"^Q2C-\d{3}[a-z]?$")
HEADER_RE = re.compile(r"\A\s*/\*\s*---[ \t]*\n(?P<yaml>.*?)\n[ \t]*---\s*\*/", re.S)
# Variables every rule may read besides its own params (the runner sets them).
# Run-wide values a firm may override by name like a parameter ([checks] params): the cost of capital that
# prices a delay, and the materiality floor in reporting currency above which a finding's severity escalates.
CONTEXT_DEFAULTS: dict[str, Any] = {"coc": 0.09, "materiality_rc": 10000}
CONTEXT_VARS = {"as_of", "as_of_ts", "reporting_ccy", "run_id", *CONTEXT_DEFAULTS}


class CheckLoadError(Exception):
    """A rule file that cannot be used; the message names the file and line."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}")


@dataclass(frozen=True)
class Check:
    """One parsed rule file."""

    id: str
    title: str
    severity: str
    owner: str
    domain: str
    systems: tuple[str, ...]
    description: str
    remediation: str
    impact_kind: str
    stage: str
    depends_on: tuple[str, ...]
    params: dict[str, Any]
    sql: str
    path: Path
    sql_line: int  # 1-based file line where the SQL starts
    impact: str = ""
    grace: str | None = None
    gating: bool = False
    entity: str = ""
    money: str = DEFAULT_MONEY
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tables(self) -> set[str]:
        """Canonical tables the check reads (bare names)."""
        return {d.split(".", 1)[1] if d.startswith("canon.") else d for d in self.depends_on}


def _line_of(text: str, pattern: str, default: int = 1) -> int:
    m = re.search(pattern, text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else default


def read_header(path: Path, text: str) -> tuple[dict[str, Any], int, int]:
    """A rule's or KPI's YAML header as a mapping, the file line it starts on and where the header ends."""
    m = HEADER_RE.match(text)
    if not m:
        raise CheckLoadError(path, 1, "missing YAML header block '/* --- ... --- */' at the top")
    header_line = text.count("\n", 0, m.start("yaml")) + 1
    try:
        meta = yaml.safe_load(m.group("yaml"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = header_line + (mark.line if mark else 0)
        raise CheckLoadError(path, line, f"invalid YAML header: {exc}") from None
    if not isinstance(meta, dict):
        raise CheckLoadError(path, header_line, "YAML header must be a mapping")
    return meta, header_line, m.end()


def check_keys(
    path: Path, text: str, meta: dict[str, Any], header_line: int, required: tuple, optional: tuple
) -> None:
    """Every required header key present and non-empty, no unknown key (the error names its line)."""
    for key in required:
        if key not in meta or meta[key] in (None, ""):
            raise CheckLoadError(path, header_line, f"header key '{key}' is missing")
    unknown = set(meta) - set(required) - set(optional)
    if unknown:
        key = sorted(unknown)[0]
        raise CheckLoadError(
            path, _line_of(text, rf"^\s*{re.escape(key)}\s*:"), f"unknown header key '{key}'"
        )


def read_body(path: Path, text: str, header_end: int, header_line: int) -> tuple[str, int]:
    """The SQL after the header and the file line it starts on."""
    sql = text[header_end:].strip()
    if not sql:
        raise CheckLoadError(path, header_line, "no SQL after the header")
    rest = text[header_end:]
    sql_line = text.count("\n", 0, header_end + (len(rest) - len(rest.lstrip()))) + 1
    return sql.rstrip().rstrip(";"), sql_line


def read_params(path: Path, text: str, meta: dict[str, Any], sql: str, sql_line: int) -> dict[str, Any]:
    """The header's params (name -> default): the one declaration of every variable the SQL reads."""
    params = meta.get("params") or {}
    if not isinstance(params, dict):
        raise CheckLoadError(path, _line_of(text, r"^\s*params\s*:"), "params must be a mapping")
    used = set(re.findall(r"getvariable\('([a-z_0-9]+)'\)", sql))
    missing = used - set(params) - CONTEXT_VARS
    if missing:
        raise CheckLoadError(path, sql_line, f"getvariable of undeclared param(s): {sorted(missing)}")
    return params


def parse_rule(path: Path, text: str | None = None) -> Check:
    """Parse one rule file; raise CheckLoadError with the offending line."""
    text = path.read_text() if text is None else text
    meta, header_line, header_end = read_header(path, text)
    check_keys(path, text, meta, header_line, REQUIRED_KEYS, OPTIONAL_KEYS)
    if not ID_RE.match(str(meta["id"])):
        raise CheckLoadError(path, _line_of(text, r"^\s*id\s*:"), f"bad id {meta['id']!r} (want Q2C-NNN)")
    if meta["severity"] not in SEVERITIES:
        raise CheckLoadError(
            path, _line_of(text, r"^\s*severity\s*:"), f"bad severity {meta['severity']!r} (want S1..S4)"
        )
    if meta["impact_kind"] not in IMPACT_KINDS:
        raise CheckLoadError(
            path,
            _line_of(text, r"^\s*impact_kind\s*:"),
            f"bad impact_kind {meta['impact_kind']!r} (want one of {', '.join(IMPACT_KINDS)})",
        )
    if meta["stage"] not in STAGES:
        raise CheckLoadError(
            path,
            _line_of(text, r"^\s*stage\s*:"),
            f"bad stage {meta['stage']!r} (want one of {', '.join(STAGES)})",
        )
    money = str(meta.get("money") or DEFAULT_MONEY)
    if not MONEY_RE.match(money):
        raise CheckLoadError(
            path, _line_of(text, r"^\s*money\s*:"), f"bad money {money!r} (want a snake_case name)"
        )
    sql, sql_line = read_body(path, text, header_end, header_line)
    params = read_params(path, text, meta, sql, sql_line)
    grace = meta.get("grace")
    if grace is not None and str(grace) not in params:
        raise CheckLoadError(path, _line_of(text, r"^\s*grace\s*:"), f"grace '{grace}' is not a param")
    return Check(
        id=str(meta["id"]),
        title=str(meta["title"]),
        severity=meta["severity"],
        owner=str(meta["owner"]),
        domain=str(meta["domain"]),
        systems=tuple(_as_list(meta["systems"])),
        description=str(meta["description"]).strip(),
        remediation=str(meta["remediation"]).strip(),
        impact_kind=meta["impact_kind"],
        stage=meta["stage"],
        money=money,
        depends_on=tuple(_as_list(meta["depends_on"])),
        params=params,
        sql=sql,
        path=path,
        sql_line=sql_line,
        impact=str(meta.get("impact", "")).strip(),
        grace=None if grace is None else str(grace),
        gating=bool(meta.get("gating", False)),
        entity=str(meta.get("entity", "")),
    )


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def rule_files(rules_dir: Path = RULES_DIR) -> list[Path]:
    """Every rule file, sorted, so discovery is deterministic."""
    return sorted(rules_dir.glob("*/*.sql"))


def load_checks(rules_dir: Path = RULES_DIR, *, bind: bool = False) -> list[Check]:
    """Parse every rule; with bind=True also EXPLAIN each on an empty canonical model."""
    checks = [parse_rule(p) for p in rule_files(rules_dir)]
    seen: dict[str, Path] = {}
    for c in checks:
        if c.id in seen:
            raise CheckLoadError(c.path, 1, f"duplicate check id {c.id} (also in {seen[c.id]})")
        seen[c.id] = c.path
    if bind:
        con = empty_model()
        try:
            for c in checks:
                bind_check(con, c)
        finally:
            con.close()
    return checks


def empty_model(con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the empty canonical model, the observation tables and the helper views."""
    from checks.observations import ensure_observations

    if con is None:
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")  # stdout is the CLI's (`run --json`)
    con.execute(SCHEMA_SQL.read_text())
    ensure_observations(con)
    set_context(con, as_of="2026-10-31", reporting_ccy="USD")
    create_views(con)
    return con


def sql_literal(value: Any) -> str:
    """Render a Python value as a DuckDB literal for SET VARIABLE."""
    import datetime as dt
    from decimal import Decimal

    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        ts = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return f"TIMESTAMPTZ '{ts.isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def set_variables(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    """SET VARIABLE for each value (variables are per connection/cursor in DuckDB)."""
    for name, value in values.items():
        con.execute(f"SET VARIABLE {name} = {sql_literal(value)}")


def context_values(as_of: Any, reporting_ccy: str = "USD", run_id: str = "", **extra: Any) -> dict[str, Any]:
    """The context variables: as_of (DATE), as_of_ts (end of the as_of day unless a datetime is given)."""
    import datetime as dt

    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    if isinstance(as_of, dt.datetime):
        as_of_ts = as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)
        as_of_date = as_of_ts.astimezone(dt.UTC).date()
    else:
        as_of_date = as_of
        as_of_ts = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    values = {
        "as_of": as_of_date,
        "as_of_ts": as_of_ts,
        "reporting_ccy": reporting_ccy,
        "run_id": run_id,
        **CONTEXT_DEFAULTS,
    }
    values.update(extra)
    return values


def set_context(con: duckdb.DuckDBPyConnection, as_of: Any, reporting_ccy: str = "USD", **extra: Any) -> None:
    """Set UTC and the context variables on one connection."""
    con.execute("SET TimeZone = 'UTC'")
    set_variables(con, context_values(as_of, reporting_ccy, **extra))


def create_views(
    con: duckdb.DuckDBPyConnection, views_dir: Path = VIEWS_DIR, *, reuse: bool = False
) -> list[str]:
    """Attach the in-memory catalog chk and build the helpers from checks/views/*.sql in name order ("-- materialize" = table).

    With reuse=True nothing is rebuilt when this connection already built the same helpers for the same
    run (same view files, run_id and context variables): compute_kpis right after run_checks.
    """
    files = [
        (path.stem.split("_", 1)[1], path, path.read_text().strip().rstrip(";"))
        for path in sorted(views_dir.glob("*.sql"))
    ]
    names = [name for name, _, _ in files]
    key = _views_key(con, files)
    if reuse and con.execute(f"SELECT getvariable('{VIEWS_KEY_VAR}')").fetchone()[0] == key:
        return names
    set_variables(con, {VIEWS_KEY_VAR: None})
    attach_helpers(con)
    # A view binds names in its own catalog (chk), so its canon.* must name the run's catalog.
    home = con.execute("SELECT current_database()").fetchone()[0].replace('"', '""')
    canon = '"' + home + '".canon.'
    for name, path, body in files:
        kind = "TABLE" if body.startswith("-- materialize") else "VIEW"
        try:
            con.execute(f"CREATE OR REPLACE {kind} chk.{name} AS\n" + CANON_REF.sub(lambda _: canon, body))
        except duckdb.Error as exc:
            raise CheckLoadError(path, 1, f"view chk.{name} does not bind: {exc}") from None
    set_variables(con, {VIEWS_KEY_VAR: key})
    return names


VIEWS_KEY_VAR = "chk_views_key"
HELPERS_CATALOG = "chk"
CANON_REF = re.compile(r"\bcanon\.")


def attach_helpers(con: duckdb.DuckDBPyConnection) -> None:
    """A fresh in-memory catalog `chk` for the helpers, shared by every cursor of this database.

    In memory, not in the run file: writing a 20M-row helper into the file costs four times what computing
    it does (compression and storage; tier l: 23 of 28 CPU-seconds), and no reader of a published run
    needs them. A `chk` schema that older runs stored in the file would shadow the catalog: it goes.
    """
    attached = {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    if HELPERS_CATALOG in attached:
        con.execute(f"DETACH {HELPERS_CATALOG}")
    has_schema = con.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = ?",
        [HELPERS_CATALOG],
    ).fetchone()[0]
    if has_schema:
        con.execute(f"DROP SCHEMA {HELPERS_CATALOG} CASCADE")
    con.execute(f"ATTACH ':memory:' AS {HELPERS_CATALOG}")


def _views_key(con: duckdb.DuckDBPyConnection, files: list[tuple[str, Path, str]]) -> str:
    """What the helpers were built from: the view files plus run_id and every variable they read."""
    import hashlib

    used = sorted(
        set(re.findall(r"getvariable\('([a-z_0-9]+)'\)", "\n".join(b for _, _, b in files))) | {"run_id"}
    )
    values = con.execute(
        "SELECT " + ", ".join(f"CAST(getvariable('{v}') AS VARCHAR)" for v in used)
    ).fetchone()
    digest = hashlib.sha256()
    for name, path, body in files:
        digest.update(f"{path}\0{name}\0{body}\0".encode())
    digest.update(repr(list(zip(used, values, strict=True))).encode())
    return digest.hexdigest()


def bind_check(con: duckdb.DuckDBPyConnection, check: Check) -> None:
    """EXPLAIN the check with its default params; a bind error names the file and line."""
    cur = con.cursor()
    try:
        set_context(cur, "2026-10-31")
        set_variables(cur, check.params)
        cur.execute(f"EXPLAIN {check.sql}")
    except duckdb.Error as exc:
        msg = str(exc)
        m = re.search(r"LINE (\d+):", msg)
        line = check.sql_line + int(m.group(1)) - 1 if m else check.sql_line
        raise CheckLoadError(check.path, line, f"SQL does not bind: {msg.splitlines()[0]}") from None
    finally:
        cur.close()


def by_id(checks: Iterable[Check]) -> dict[str, Check]:
    """Index checks by id."""
    return {c.id: c for c in checks}
