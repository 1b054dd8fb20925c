"""Run every check the same way (counts, $ totals, status), store findings and their lifecycle."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import duckdb

from checks.cases import build_cases
from checks.coverage import NOT_COVERED, Coverage, assess
from checks.coverage import store as store_coverage
from checks.coverage import summary as coverage_summary
from checks.loader import MONEY_KINDS, Check, context_values, create_views, load_checks, set_variables
from checks.params import declared, known, resolve, split_context
from checks.remote import Remote, create_remote_views, fetch_rows, push_model, typed_like
from checks.results import FINALIZE_SQL, STAGE_DDL, carry_forward, ensure_results
from closedloop.engines import redact

STANDARD_COLS = ("entity_type", "entity_id", "correlation_id", "impact_rc")
OPTIONAL_COLS = ("client_id", "sow_id", "project_id", "invoice_id", "legal_entity_id", "event_date")
# A second, labelled figure beside the amount at stake: the expected loss (leakage) or the cost of the delay (cash).
SECOND_FIGURE = "expected_loss_rc"
CONTROL_COLS = ("severity", "age_days", "age_bd")
MONITOR_RE = re.compile(r"\bmonitor\s*=\s*'(\w+)'")  # the monitor a rule reads in results.monitor
STATUSES = ("passed", "failed", "suppressed", "not_covered", "disabled", "error")


@dataclass
class CheckResult:
    """Outcome of one check in one run."""

    check_id: str
    status: str  # passed | failed | suppressed | not_covered | disabled ([checks] disabled) | error
    row_count: int = 0
    impact_rc: Decimal = Decimal("0.00")  # amount at stake, of the check's impact kind
    impact_kind: str = ""
    expected_loss_rc: Decimal | None = None
    duration_ms: float = 0.0
    error: str | None = None
    not_judged: int = 0  # findings on flows whose values the config does not map (coverage: partly covered)


@dataclass
class RunSummary:
    """What run_checks did: one CheckResult per check plus totals."""

    run_id: str
    results: list[CheckResult] = field(default_factory=list)
    duration_s: float = 0.0
    coverage: list[Coverage] = field(default_factory=list)

    def by_status(self, status: str) -> list[str]:
        """Check ids with the given status."""
        return [r.check_id for r in self.results if r.status == status]

    @property
    def findings(self) -> int:
        """Total failing rows stored."""
        return sum(r.row_count for r in self.results)

    def impact_by_kind(self) -> dict[str, Decimal]:
        """Amount at stake per money kind over the checks' findings (kinds are never added together).

        Per check, not per case: the same money can appear under several checks; cases count it once.
        """
        out = {k: Decimal("0.00") for k in MONEY_KINDS}
        for r in self.results:
            if r.impact_kind in out:
                out[r.impact_kind] += r.impact_rc
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary for run reports."""
        counts = {s: len(self.by_status(s)) for s in STATUSES}
        return {
            "run_id": self.run_id,
            **counts,
            "findings": self.findings,
            "impact_by_kind": {k: str(v) for k, v in self.impact_by_kind().items()},
            "duration_s": round(self.duration_s, 3),
            "errors": {r.check_id: r.error for r in self.results if r.error},
            "coverage": coverage_summary(self.coverage),
        }

    def result(self, check_id: str) -> CheckResult:
        """The result of one check."""
        return next(r for r in self.results if r.check_id == check_id)


def resolve_params(checks: Iterable[Check], params: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per-check parameter values: header defaults, overridden by 'name' or 'Q2C-NNN.name' keys.

    A KPI's parameter is known too (one `[checks] params` table holds both); any other name raises ValueError.
    """
    from checks.kpis import KPI_ID_RE

    kpis = {k: v for k, v in declared().items() if KPI_ID_RE.match(k)}
    return resolve({c.id: c.params for c in checks}, params, also_known=known(kpis))


def _insert_sql(check: Check, run_id: str, cols: list[str], grace: Any) -> str:
    """Wrap a check's SELECT into an INSERT of uniform finding rows (evidence as JSON text)."""
    colset = set(cols)
    opt = [
        f"CAST(q.{c} AS {'DATE' if c == 'event_date' else 'VARCHAR'})" if c in colset else "NULL"
        for c in OPTIONAL_COLS
    ]
    evidence = [c for c in cols if c not in (*STANDARD_COLS, *OPTIONAL_COLS, "severity", SECOND_FIGURE)]
    second = f"CAST(q.{SECOND_FIGURE} AS DECIMAL(18,2))" if SECOND_FIGURE in colset else "NULL"
    details = (
        "CAST(json_object(" + ", ".join(f"'{c}', q.\"{c}\"" for c in evidence) + ") AS VARCHAR)"
        if evidence
        else "'{}'"
    )
    sev = f"coalesce(q.severity, '{check.severity}')" if "severity" in colset else f"'{check.severity}'"
    age_col = "age_bd" if (check.grace or "").endswith("_bd") else "age_days"
    age = f"CAST(q.{age_col} AS DOUBLE)" if age_col in colset and grace is not None else "NULL"
    grace_sql = "NULL" if grace is None or age == "NULL" else f"CAST({float(grace)} AS DOUBLE)"
    return (
        f"INSERT INTO chk.finding_stage SELECT '{run_id}', '{check.id}', CAST(q.entity_type AS VARCHAR), "
        f"CAST(q.entity_id AS VARCHAR), CAST(q.correlation_id AS VARCHAR), "
        f"CAST(coalesce(q.impact_rc, 0) AS DECIMAL(18,2)), {', '.join(opt)}, {sev}, {age}, {grace_sql}, "
        f"{details}, {second} FROM (\n{check.sql}\n) q"
    )


def _run_one(
    con: duckdb.DuckDBPyConnection,
    check: Check,
    run_id: str,
    ctx: dict[str, Any],
    values: dict[str, Any],
    remote: Remote | None = None,
) -> CheckResult:
    """Run one check on its own cursor (variables are per cursor); with `remote`, the rule's SELECT runs on
    that engine and only its rows come back, staged here exactly as a DuckDB rule's rows are."""
    start = time.perf_counter()
    cur = con.cursor()
    try:
        cur.execute("SET TimeZone = 'UTC'")
        set_variables(cur, ctx)
        set_variables(cur, values)
        if remote is not None:
            rows = fetch_rows(remote, check.sql, {**ctx, **values})
            cur.register("_engine_rows", rows)
            check = replace(check, sql=typed_like(cur, check.sql, "_engine_rows"))
        cols = [d[0] for d in cur.execute(f"SELECT * FROM (\n{check.sql}\n) q LIMIT 0").description]
        missing = [c for c in STANDARD_COLS if c not in cols]
        if missing:
            raise ValueError(f"missing output column(s) {missing}")
        grace = values.get(check.grace) if check.grace else None
        cur.execute(_insert_sql(check, run_id, cols, grace))
        return CheckResult(check.id, "passed", duration_ms=(time.perf_counter() - start) * 1000)
    except Exception as exc:  # one broken check must not stop the run
        message = f"{type(exc).__name__}: {exc}"
        if remote is not None:  # the engine's own message, never its URL's password
            message = f"on {remote.engine.kind}: " + redact(message, remote.password)
        return CheckResult(
            check.id, "error", duration_ms=(time.perf_counter() - start) * 1000, error=message[:2000]
        )
    finally:
        cur.close()


def _dependency_keys(con: duckdb.DuckDBPyConnection, check: Check, sources: dict[str, set[str]]) -> set[str]:
    """Names under which a check's inputs can be suppressed: tables, systems, source systems."""
    keys = {s.lower() for s in check.systems}
    for t in check.tables:
        keys.update({t, f"canon.{t}"})
        for src in sources.get(t, ()):
            keys.update({src.lower(), f"{src.lower()}.{t}"})
    return keys


def _table_sources(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, set[str]]:
    """Source systems feeding each canonical table (snapshot_meta and the table's own lineage)."""
    out: dict[str, set[str]] = {t: set() for t in tables}
    for src, table in con.execute(
        "SELECT DISTINCT source_system, table_name FROM canon.snapshot_meta"
    ).fetchall():
        if table in out and src:
            out[table].add(src)
    has_col = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'canon' AND column_name = 'source_system'"
        ).fetchall()
    }
    for t in tables & has_col:
        out[t].update(
            r[0] for r in con.execute(f"SELECT DISTINCT source_system FROM canon.{t}").fetchall() if r[0]
        )
    return out


def run_checks(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    as_of: Any,
    reporting_ccy: str = "USD",
    params: dict[str, Any] | None = None,
    suppressed_sources: Iterable[str] = frozenset(),
    previous: str | None = None,
    checks: list[Check] | None = None,
    max_workers: int | None = None,
    disabled: Iterable[str] = (),
    remote: Remote | None = None,
) -> RunSummary:
    """Run all checks against canon.* in con and write results.* for this run.

    `disabled` check ids are not run and are reported 'disabled' (never passed); their findings' history
    is left as it was, neither resolved nor carried as seen.
    """
    started = time.perf_counter()
    checks = checks if checks is not None else load_checks()
    context, overrides = split_context(params)
    ctx = context_values(as_of, reporting_ccy, run_id=run_id, **context)
    values = resolve_params(checks, overrides)
    off = set(disabled)
    if off - {c.id for c in checks}:
        raise ValueError(f"unknown check id(s) to disable: {sorted(off - {c.id for c in checks})}")
    con.execute("SET TimeZone = 'UTC'")
    set_variables(con, ctx)
    ensure_results(con)
    if previous:
        carry_forward(con, previous, run_id)
    con.execute("DELETE FROM results.check_run WHERE run_id = ?", [run_id])
    create_views(con)
    con.execute(STAGE_DDL)
    if remote is not None:  # the model and the helpers on the engine; a failure here stops the run (exit 2)
        push_model(con, remote)
        create_remote_views(remote, ctx)

    # one connection to a remote engine: its statements run one after the other
    workers = 1 if remote is not None else max_workers or min(8, os.cpu_count() or 2)
    gating = [c for c in checks if c.gating]
    others = [c for c in checks if not c.gating]
    results: dict[str, CheckResult] = {}

    def run_batch(batch: list[Check]) -> None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for r in pool.map(lambda c: _run_one(con, c, run_id, ctx, values[c.id], remote), batch):
                results[r.check_id] = r

    # a check whose inputs no source fills does not run: it would read NULL and report nothing or everything
    coverage = assess(con, [(c.id, "check", c.sql) for c in checks])
    for c in checks:
        if c.id in off:
            results[c.id] = CheckResult(c.id, "disabled")
        elif coverage[c.id].status == NOT_COVERED:
            results[c.id] = CheckResult(c.id, "not_covered")
    for c in checks:
        if c.id not in results and (unseen := _unobserved(con, run_id, c)):
            results[c.id] = CheckResult(c.id, "not_covered")
            coverage[c.id].status = NOT_COVERED
            coverage[c.id].missing.extend(
                f"the {m} monitor's verdicts in this run (no {m} monitor ran)" for m in unseen
            )
            coverage[c.id].settings.append("[monitors]")
    gating = [c for c in gating if c.id not in results]
    suppressed = {s.lower() for s in suppressed_sources}
    run_batch([c for c in gating if not (_dependency_keys(con, c, {}) & suppressed)])
    suppressed |= _gated(con, run_id, [c.id for c in gating])
    sources = _table_sources(con, set().union(*(c.tables for c in others))) if suppressed and others else {}
    runnable = []
    for c in checks:
        if c.id in results:
            continue
        if _dependency_keys(con, c, sources) & suppressed:
            results[c.id] = CheckResult(c.id, "suppressed")
        else:
            runnable.append(c)
    run_batch(runnable)
    for c in checks:  # partly covered: findings on flows with unmapped values are left unjudged
        flows = coverage[c.id].unjudged_flows
        if flows and results[c.id].status == "passed":
            coverage[c.id].not_judged = _drop_unjudged(con, run_id, c.id, flows)
            results[c.id].not_judged = coverage[c.id].not_judged

    totals = {
        cid: (n, amt, second)
        for cid, n, amt, second in con.execute(
            "SELECT check_id, count(DISTINCT entity_type || '|' || entity_id), "
            "CAST(coalesce(sum(impact_rc), 0) AS DECIMAL(18,2)), CAST(sum(expected_loss_rc) AS DECIMAL(18,2)) "
            "FROM (SELECT *, row_number() OVER "
            "(PARTITION BY check_id, entity_type, entity_id ORDER BY impact_rc DESC NULLS LAST, details) rn "
            "FROM chk.finding_stage WHERE run_id = ?) WHERE rn = 1 GROUP BY check_id",
            [run_id],
        ).fetchall()
    }
    ordered = []
    for c in checks:
        r = results[c.id]
        r.impact_kind = c.impact_kind
        if r.status == "passed" and c.id in totals:
            r.row_count, r.impact_rc, r.expected_loss_rc = totals[c.id]
            r.status = "failed" if r.row_count else "passed"
        ordered.append(r)
        con.execute(
            "INSERT INTO results.check_run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                c.id,
                c.title,
                c.domain,
                c.owner,
                c.severity,
                c.impact_kind,
                r.status,
                r.row_count,
                r.impact_rc,
                r.duration_ms,
                r.error,
                ctx["as_of"],
                json.dumps(values[c.id], default=str),
                c.stage,
                r.expected_loss_rc,
                c.money,
            ],
        )
    con.execute(FINALIZE_SQL)
    build_cases(con, run_id)
    store_coverage(con, run_id, list(coverage.values()), "check")
    return RunSummary(run_id, ordered, time.perf_counter() - started, list(coverage.values()))


def _unobserved(con: duckdb.DuckDBPyConnection, run_id: str, check: Check) -> list[str]:
    """The monitors a rule reads (results.monitor, `m.monitor = 'name'`) that did not run in this run (no
    verdict at all, not even 'skipped': no baseline yet is a monitor that looked). Without them the rule would
    pass having looked at nothing: a check that cannot fail is reported not covered."""
    if "results.monitor" not in check.depends_on:
        return []
    wanted = MONITOR_RE.findall(check.sql)
    seen = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT monitor FROM results.monitor WHERE run_id = ?", [run_id]
        ).fetchall()
    }
    return [m for m in wanted if m not in seen]


def _gated(con: duckdb.DuckDBPyConnection, run_id: str, gating: list[str]) -> set[str]:
    """What the gating checks' findings suppress: a canonical table (of one source) or a whole source.

    A gating finding names its source in details.source_system and, when it is about one canonical table,
    that table in details.table_name; a finding whose details.gates is false is reported and gates nothing
    (Q2C-106's doubled extract).
    """
    out: set[str] = set()
    for src, table in con.execute(
        "SELECT DISTINCT lower(json_extract_string(details, '$.source_system')), "
        "lower(json_extract_string(details, '$.table_name')) "
        "FROM chk.finding_stage WHERE run_id = ? AND check_id IN (SELECT unnest(?::VARCHAR[])) "
        "AND coalesce(TRY_CAST(json_extract_string(details, '$.gates') AS BOOLEAN), true)",
        [run_id, gating],
    ).fetchall():
        if table:
            out.update({table, f"{src or ''}.{table}"})
        elif src:
            out.add(src)
    return out


def _drop_unjudged(con: duckdb.DuckDBPyConnection, run_id: str, check_id: str, flows: set[str]) -> int:
    """Remove a check's staged findings on the given flows; returns how many entities were left unjudged."""
    con.execute("CREATE OR REPLACE TEMP TABLE _unjudged(correlation_id VARCHAR)")
    con.executemany("INSERT INTO _unjudged VALUES (?)", [(f,) for f in sorted(flows)])
    # case- and space-blind: a malformed copy of a flow's ID (Q2C-102) still names that flow
    where = (
        "run_id = ? AND check_id = ? AND upper(trim(correlation_id)) IN"
        " (SELECT upper(trim(correlation_id)) FROM _unjudged)"
    )
    n = con.execute(
        f"SELECT count(DISTINCT entity_type || '|' || entity_id) FROM chk.finding_stage WHERE {where}",
        [run_id, check_id],
    ).fetchone()[0]
    con.execute(f"DELETE FROM chk.finding_stage WHERE {where}", [run_id, check_id])
    con.execute("DROP TABLE _unjudged")
    return int(n)
