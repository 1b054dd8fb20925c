"""What a flow's trace says in one breath: each business event's state, where the flow broke, its cases in order.

Pure functions over the published warehouse (a read-only DuckDB connection) and the records closedloop.trace
already read, shared by the app's trace page and `closedloop trace`, so both say the same thing.

An integration event is a business event, not an attempt: the middleware logs one row per attempt, and the rows
of one idempotency key (else one event id) to one target system are one event. Its state is read from all of
them: *delivered* (it succeeded at once), *recovered* (it succeeded after failed attempts: not a break),
*failing* (the last attempt failed and no attempt succeeded: retries pending) or *dead-lettered* (the last
attempt went to the dead-letter queue and none succeeded).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from checks.loader import STAGES as CHECK_STAGES
from closedloop.trace import TraceRecord, clean_id, findings, timeline

DELIVERED, RECOVERED, FAILING, DEAD_LETTERED = "delivered", "recovered", "failing", "dead_lettered"
BROKEN_STATES = (FAILING, DEAD_LETTERED)
# Canonical event status is 'success' (closedloop/valuemaps.py); the others are what hand-made or older
# warehouses carry for the same thing.
SUCCESS = ("success", "succeeded", "ok", "processed", "delivered")
DEAD = ("dead_letter", "dead_lettered", "deadletter", "dlq")

# The flow's stages in order (the rule headers' stages without 'data', which is about the data, not the flow).
STAGES = tuple(s for s in CHECK_STAGES if s != "data")
STAGE_RECORDS = {
    "opportunity": ("opportunity",),
    "contract": ("contract", "sow", "amendment"),
    "project": ("project",),
    "schedule": ("billing_schedule", "milestone"),
    "time": (),  # time entries are not drawn on the trace: counted apart (summarize)
    "invoice": ("invoice",),
    "crm": ("crm_invoice_status",),
    "cash": ("payment",),
}
DONE = {
    "opportunity": "opportunity won",
    "contract": "contract signed",
    "project": "project created",
    "schedule": "billing scheduled",
    "time": "time logged",
    "invoice": "invoiced",
    "crm": "in CRM",
    "cash": "paid",
}
NOT_DONE = {
    "opportunity": "no opportunity",
    "contract": "no signed contract",
    "project": "no project",
    "schedule": "no billing schedule",
    "time": "no time logged",
    "invoice": "not invoiced",
    "crm": "not in CRM",
    "cash": "not paid",
}
# A fixed-fee or milestone engagement has no time, and a time-and-materials one may bill without a schedule:
# when a later stage is there, their absence is not where the flow stopped.
OPTIONAL = ("schedule", "time")
CRM_SYSTEMS = ("salesforce", "dynamics", "dynamics365", "hubspot", "crm")
CLM_SYSTEMS = ("ironclad", "docusign", "icertis", "conga", "clm")
MONEY_KINDS = ("leakage", "exposure", "cash")
PARENT_KEYS = ("parent_cid", "parent_correlation_id")  # evidence columns naming the flow a record belongs to


@dataclass(frozen=True)
class Attempt:
    """One row of the middleware log: one try at delivering an event."""

    event_id: str
    status: str
    attempt: int | None
    ts: dt.datetime | None
    error_message: str | None


@dataclass(frozen=True)
class EventState:
    """One business event (idempotency key × target system) and what became of it over all its attempts."""

    key: str
    event_type: str | None
    source_system: str | None
    target_system: str | None
    entity_type: str | None
    entity_id: str | None
    state: str
    attempts: tuple[Attempt, ...]
    tries: int  # attempts made: the most the log counts on one row, or the rows if more
    last_error: str | None
    stage: str

    @property
    def broken(self) -> bool:
        return self.state in BROKEN_STATES

    @property
    def label(self) -> str:
        """The state in words, as the banner and the CLI say it."""
        n = self.tries
        if self.state == DELIVERED:
            return "delivered"
        if self.state == RECOVERED:
            return f"recovered after {n} attempts"
        if self.state == DEAD_LETTERED:
            return f"dead-lettered after {n} attempt{'s' * (n != 1)}"
        return f"failing after {n} attempt{'s' * (n != 1)}, retries pending"

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(a.event_id for a in self.attempts)


@dataclass(frozen=True)
class Stage:
    """One stage of the flow: done, flagged (a case's root cause sits on it), broken (an event to it failed for
    good or for now), skipped (optional and absent while later stages are there) or missing."""

    name: str
    state: str  # ok | flagged | broken | missing | skipped
    label: str
    reason: str | None = None
    records: int = 0


@dataclass
class FlowSummary:
    """A flow in one breath: its stages, where it broke, its events' states and its cases in stage order."""

    correlation_id: str
    stages: list[Stage]
    events: list[EventState]
    cases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def marked(self) -> Stage | None:
        """Where the flow broke: the first stage missing or with an event still failing or dead-lettered,
        else the first stage a case's root cause sits on (the flow went on, but broke there)."""
        return next((s for s in self.stages if s.state in ("broken", "missing")), None) or next(
            (s for s in self.stages if s.state == "flagged"), None
        )

    def line(
        self,
        *,
        markdown: bool = True,
        escape: Callable[[str], str] = str,
        emphasis: Callable[[str], str] | None = None,
    ) -> str:
        """'contract signed → project created → invoiced → **not in CRM**: sync failed 3×, dead-lettered'.

        The app passes its Markdown escape and a coloured emphasis; plain text marks the stage with brackets."""
        mark = self.marked
        if emphasis is None:
            emphasis = (lambda t: f"**{t}**") if markdown else (lambda t: f"[{t}]")
        parts = []
        for s in self.stages:
            if s is mark or s.state == "broken":  # a later event failing for good is a break of its own
                parts.append(emphasis(escape(s.label)) + (f": {escape(s.reason)}" if s.reason else ""))
            elif s.state in ("ok", "flagged"):
                parts.append(escape(s.label))
        return " → ".join(parts) if parts else "no records on this flow"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the same summary the page shows, for a ticket or a script."""
        mark = self.marked
        return {
            "correlation_id": self.correlation_id,
            "summary": self.line(markdown=False),
            "broke_at": None
            if mark is None
            else {"stage": mark.name, "label": mark.label, "reason": mark.reason},
            "stages": [s.__dict__ for s in self.stages],
            "events": [
                {
                    "key": e.key,
                    "event_type": e.event_type,
                    "source_system": e.source_system,
                    "target_system": e.target_system,
                    "entity": f"{e.entity_type} {e.entity_id}",
                    "state": e.state,
                    "label": e.label,
                    "attempts": e.tries,
                    "last_error": e.last_error,
                    "event_ids": list(e.event_ids),
                }
                for e in self.events
            ],
            "cases": [{k: _plain(v) for k, v in c.items()} for c in self.cases],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if isinstance(value, dt.date) else value


def is_success(status: Any) -> bool:
    return str(status or "").strip().lower() in SUCCESS


def target_lane(system: Any) -> str:
    """CRM, CLM or ERP for a system name as the middleware logs it (vendor key or lane name)."""
    s = str(system or "").strip().lower().replace(" ", "")
    if s in CRM_SYSTEMS or s.startswith("salesforce") or s.startswith("dynamics365crm"):
        return "CRM"
    if s in CLM_SYSTEMS:
        return "CLM"
    return "ERP"


def event_stage(entity_type: Any, target_system: Any) -> str:
    """The stage an event hands work to: what it creates or updates in its target system."""
    lane = target_lane(target_system)
    if lane == "CRM":
        return "crm"
    if lane == "CLM":
        return "contract"
    return "invoice" if entity_type in ("invoice", "invoice_line", "time_entry", "payment") else "project"


def _when(a: Attempt) -> tuple:
    far = dt.datetime.min.replace(tzinfo=dt.UTC)
    return (a.ts or far, a.attempt or 0, a.event_id)


def event_states(records: list[TraceRecord]) -> list[EventState]:
    """The flow's integration events grouped into business events, each with its state; broken ones first."""
    groups: dict[tuple[str, str], list[TraceRecord]] = {}
    for r in records:
        if r.entity_type != "integration_event":
            continue
        f = r.fields
        key = (str(f.get("idempotency_key") or r.entity_id), str(f.get("target_system") or ""))
        groups.setdefault(key, []).append(r)
    out = []
    for (key, _target), rows in groups.items():
        attempts = sorted(
            (
                Attempt(
                    r.entity_id,
                    str(r.fields.get("status") or ""),
                    r.fields.get("attempt"),
                    r.fields.get("processed_at") or r.ts,
                    r.fields.get("error_message"),
                )
                for r in rows
            ),
            key=_when,
        )
        last = attempts[-1]
        ok = [a for a in attempts if is_success(a.status)]
        failed = [a for a in attempts if not is_success(a.status)]
        tries = max(len(attempts), *(a.attempt or 0 for a in attempts))
        if ok:
            state = RECOVERED if failed or tries > 1 else DELIVERED
        elif last.status.strip().lower() in DEAD:
            state = DEAD_LETTERED
        else:
            state = FAILING
        f = rows[0].fields
        out.append(
            EventState(
                key=key,
                event_type=f.get("event_type"),
                source_system=f.get("source_system"),
                target_system=f.get("target_system"),
                entity_type=f.get("entity_type"),
                entity_id=f.get("entity_id"),
                state=state,
                attempts=tuple(attempts),
                tries=tries,
                last_error=next((a.error_message for a in reversed(failed) if a.error_message), None),
                stage=event_stage(f.get("entity_type"), f.get("target_system")),
            )
        )
    order = {DEAD_LETTERED: 0, FAILING: 1, RECOVERED: 2, DELIVERED: 3}
    out.sort(key=lambda e: (order[e.state], _when(e.attempts[0]), e.key))
    return out


def _event_reason(events: list[EventState]) -> str:
    e = events[0]
    what = f"sync failed {e.tries}×" if e.tries > 1 else "sync failed"
    if e.entity_id:  # the stage may hold other records: name the one that did not get through
        what = f"{e.entity_type or 'record'} {e.entity_id} {what}"
    tail = "dead-lettered" if e.state == DEAD_LETTERED else "retries pending"
    more = f" (and {len(events) - 1} more event{'s' * (len(events) > 2)})" if len(events) > 1 else ""
    return f"{what}, {tail}{more}"


def stages(
    records: list[TraceRecord],
    events: list[EventState],
    findings_on_flow: list[dict[str, Any]],
    time_entries: int,
    cases: list[dict[str, Any]] | None = None,
) -> list[Stage]:
    """Each stage: ok, broken (an event to it still failing or dead-lettered), missing, skipped, or flagged
    (there, but a case's root cause sits on it: its cases, else its open findings)."""
    counts = {s: sum(1 for r in records if r.entity_type in types) for s, types in STAGE_RECORDS.items()}
    counts["time"] = time_entries
    present = [s for s in STAGES if counts[s]]
    last_present = STAGES.index(present[-1]) if present else -1
    flags: dict[str, list[tuple[str, str]]] = {}
    for c in cases or []:
        flags.setdefault(c.get("stage"), []).append((c.get("root_check_id"), c.get("title")))
    if not cases:
        for f in findings_on_flow:
            if f.get("status") != "closed":
                flags.setdefault(f.get("stage"), []).append((f.get("check_id"), f.get("title")))
    out = []
    for i, s in enumerate(STAGES):
        broken_events = [e for e in events if e.broken and e.stage == s]
        here = flags.get(s, [])
        if broken_events:
            out.append(Stage(s, "broken", NOT_DONE[s], _event_reason(broken_events), counts[s]))
        elif not counts[s]:
            skippable = s in OPTIONAL and i < last_present and not here
            reason = _flag_reason(here) if here else None
            out.append(Stage(s, "skipped" if skippable else "missing", NOT_DONE[s], reason, 0))
        elif here:
            out.append(Stage(s, "flagged", DONE[s], _flag_reason(here), counts[s]))
        else:
            out.append(Stage(s, "ok", DONE[s], None, counts[s]))
    return out


def _flag_reason(here: list[tuple[str, str]]) -> str:
    check, title = here[0]
    more = f" (+{len(here) - 1} more case{'s' * (len(here) > 2)})" if len(here) > 1 else ""
    return f"{check} {title or ''}".strip() + more


def _stage_rank_sql() -> str:
    return (
        "CASE c.stage "
        + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(CHECK_STAGES))
        + " ELSE 99 END"
    )


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
    }


CASE_COLS = (
    "case_key",
    "stage",
    "root_check_id",
    "severity",
    "status",
    "money_type",
    "money_id",
    "leakage_rc",
    "exposure_rc",
    "cash_rc",
    "compliance_findings",
    "findings",
    "check_ids",
)


def flow_cases(
    con: duckdb.DuckDBPyConnection, correlation_id: str, have: set[str] | None = None
) -> list[dict[str, Any]]:
    """The flow's cases in the published run, in stage order (the root cause's stage), largest money first."""
    cid = clean_id(correlation_id)
    have = _tables(con) if have is None else have
    if not cid or "results.cases" not in have:
        return []
    titles = (
        "LEFT JOIN (SELECT check_id, any_value(title) AS title FROM results.check_run GROUP BY check_id) t "
        "ON t.check_id = c.root_check_id"
        if "results.check_run" in have
        else "LEFT JOIN (SELECT NULL AS title) t ON true"
    )
    run = (
        "(SELECT run_id FROM meta.run ORDER BY started_at DESC LIMIT 1)" if "meta.run" in have else "c.run_id"
    )
    cols = ", ".join(f"c.{c}" for c in CASE_COLS)
    rows = con.execute(
        f"SELECT {cols}, t.title FROM results.cases c {titles} WHERE c.correlation_id = ? AND c.run_id = {run} "
        f"ORDER BY {_stage_rank_sql()}, coalesce(c.leakage_rc, 0) + coalesce(c.exposure_rc, 0) "
        "+ coalesce(c.cash_rc, 0) DESC, c.case_key",
        [cid],
    ).fetchall()
    return [dict(zip((*CASE_COLS, "title"), r, strict=True)) for r in rows]


def time_entries(con: duckdb.DuckDBPyConnection, correlation_id: str, have: set[str] | None = None) -> int:
    """Time entries on the flow (not drawn on the trace: a flow can have thousands)."""
    if "canon.time_entry" not in (_tables(con) if have is None else have):
        return 0
    return con.execute(
        "SELECT count(*) FROM canon.time_entry WHERE correlation_id = ?", [clean_id(correlation_id)]
    ).fetchone()[0]


def summarize(
    con: duckdb.DuckDBPyConnection,
    correlation_id: str,
    records: list[TraceRecord] | None = None,
    findings_on_flow: list[dict[str, Any]] | None = None,
) -> FlowSummary:
    """The flow's summary read from the warehouse; pass the records and findings already read to read them once."""
    cid = clean_id(correlation_id)
    records = timeline(con, cid) if records is None else records
    findings_on_flow = findings(con, cid) if findings_on_flow is None else findings_on_flow
    have = _tables(con)  # once: each look at the catalog costs a few ms
    cases = flow_cases(con, cid, have)
    stage_of = {} if cases else check_stages(con, have)  # findings' stages matter only without cases
    return build(cid, records, findings_on_flow, time_entries(con, cid, have), cases, stage_of)


def build(
    correlation_id: str,
    records: list[TraceRecord],
    findings_on_flow: list[dict[str, Any]],
    time_count: int,
    cases: list[dict[str, Any]],
    stage_of: dict[str, str | None] | None = None,  # check id -> stage
) -> FlowSummary:
    """The summary from what was read (the app reads each part through its own cache)."""
    stage_of = stage_of or {}
    found = [
        f if f.get("stage") else {**f, "stage": stage_of.get(f.get("check_id"))} for f in findings_on_flow
    ]
    events = event_states(records)
    return FlowSummary(correlation_id, stages(records, events, found, time_count, cases), events, cases)


def check_stages(con: duckdb.DuckDBPyConnection, have: set[str] | None = None) -> dict[str, str | None]:
    """Each check's stage (its rule header, as results.check_run keeps it): where a finding sits on the flow
    when the run has no cases to say so (trace.findings does not read it)."""
    if "results.check_run" not in (_tables(con) if have is None else have):
        return {}
    return dict(
        con.execute("SELECT check_id, any_value(stage) FROM results.check_run GROUP BY check_id").fetchall()
    )


# ---- warehouse-wide counts: the overview and the Data health page --------------------------------------

_SUCCESS_SQL = ", ".join(f"'{s}'" for s in SUCCESS)
_DEAD_SQL = ", ".join(f"'{s}'" for s in DEAD)
BROKEN_EVENTS_SQL = f"""
WITH e AS (
  SELECT correlation_id, event_id, lower(status) AS status, coalesce(idempotency_key, event_id) AS k,
         coalesce(target_system, '') AS t, coalesce(processed_at, created_at) AS at, attempt
  FROM canon.integration_event),
bad AS (SELECT DISTINCT k, t FROM e WHERE status NOT IN ({_SUCCESS_SQL})),  -- few: most events go through
a AS (
  SELECT e.*,
         row_number() OVER (PARTITION BY e.k, e.t ORDER BY e.at DESC NULLS LAST, e.attempt DESC NULLS LAST,
                                                        e.event_id DESC) AS rn,
         count(*) FILTER (WHERE e.status IN ({_SUCCESS_SQL})) OVER (PARTITION BY e.k, e.t) AS ok
  FROM e SEMI JOIN bad ON bad.k = e.k AND bad.t = e.t)
SELECT correlation_id, k, t, CASE WHEN status IN ({_DEAD_SQL}) THEN '{DEAD_LETTERED}' ELSE '{FAILING}' END AS state
FROM a WHERE rn = 1 AND ok = 0
"""


@dataclass(frozen=True)
class BrokenFlows:
    """Flows with a business event still failing or dead-lettered (a recovered one is not counted)."""

    failing_flows: int
    failing_events: int
    dead_lettered_flows: int
    dead_lettered_events: int
    unlinked_events: int  # broken events on no flow (no correlation ID)


def broken_flows(con: duckdb.DuckDBPyConnection) -> BrokenFlows:
    """Counts of still-failing and dead-lettered flows and events across the warehouse."""
    if "canon.integration_event" not in _tables(con):
        return BrokenFlows(0, 0, 0, 0, 0)
    row = con.execute(
        f"SELECT count(DISTINCT correlation_id) FILTER (WHERE state = '{FAILING}'), "
        f"count(*) FILTER (WHERE state = '{FAILING}'), "
        f"count(DISTINCT correlation_id) FILTER (WHERE state = '{DEAD_LETTERED}'), "
        f"count(*) FILTER (WHERE state = '{DEAD_LETTERED}'), count(*) FILTER (WHERE correlation_id IS NULL) "
        f"FROM ({BROKEN_EVENTS_SQL})"
    ).fetchone()
    return BrokenFlows(*(int(v or 0) for v in row))


def recent_broken_flows(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[dict[str, Any]]:
    """The flows with a still-failing or dead-lettered event, most recent last attempt first."""
    if "canon.integration_event" not in _tables(con):
        return []
    rows = con.execute(
        "SELECT b.correlation_id, min(b.state) AS state, count(*) AS events, "
        "max(coalesce(e.processed_at, e.created_at)) AS last_at "
        f"FROM ({BROKEN_EVENTS_SQL}) b JOIN canon.integration_event e "
        "ON coalesce(e.idempotency_key, e.event_id) = b.k AND coalesce(e.target_system, '') = b.t "
        "WHERE b.correlation_id IS NOT NULL GROUP BY b.correlation_id ORDER BY last_at DESC NULLS LAST, 1 "
        f"LIMIT {int(limit)}"
    ).fetchall()
    return [dict(zip(("correlation_id", "state", "events", "last_at"), r, strict=True)) for r in rows]


def money_by_kind(cases: list[dict[str, Any]]) -> dict[str, Decimal]:
    """The flow's cases' money, per kind, never summed across kinds (a case counts its money once)."""
    out = {}
    for kind in MONEY_KINDS:
        vals = [c[f"{kind}_rc"] for c in cases if isinstance(c.get(f"{kind}_rc"), (Decimal, int, float))]
        if vals:
            out[kind] = sum((Decimal(str(v)) for v in vals), Decimal("0"))
    return out


def parent_flows(found: list[dict[str, Any]]) -> list[str]:
    """Parent flows the findings' evidence names (Q2C-102 `parent_cid`): a record whose own correlation ID is
    malformed or conflicting is a one-record flow, and the flow it belongs to is its parent's."""
    out: list[str] = []
    for f in found:
        doc = f.get("details")
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except ValueError:
                continue
        if not isinstance(doc, dict):
            continue
        for key in PARENT_KEYS:
            cid = clean_id(doc.get(key))
            if cid and cid != f.get("correlation_id") and cid not in out:
                out.append(cid)
    return out


def _md(text: Any) -> str:
    """A value as literal text in a Markdown table cell or line (no pipes, backticks or line breaks)."""
    return " ".join(str("" if text is None else text).split()).replace("|", "\\|").replace("`", "'")


def _amount(value: Any, currency: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (Decimal, int, float)):
        return f"{Decimal(str(value)):,.2f} {currency}"
    return _md(value)  # masked for the role


def to_markdown(flow: FlowSummary, currency: str = "USD") -> str:
    """The summary for a ticket: where it broke, the events that did not simply go through, the cases."""
    lines = [f"### Flow `{_md(flow.correlation_id)}`", "", f"**Where it broke:** {flow.line(escape=_md)}", ""]
    shown = [e for e in flow.events if e.state != DELIVERED]
    delivered = len(flow.events) - len(shown)
    lines.append(f"**Integration events:** {len(flow.events)} ({delivered} delivered at the first attempt)")
    for e in shown:
        err = f" — last error: {_md(e.last_error)}" if e.last_error else ""
        lines.append(
            f"- **{e.label}** · {_md(e.event_type)} {_md(e.source_system)} → {_md(e.target_system)} · "
            f"{_md(e.entity_type)} `{_md(e.entity_id)}` · events {', '.join(_md(i) for i in e.event_ids)}{err}"
        )
    lines.append("")
    if flow.cases:
        money = money_by_kind(flow.cases)
        totals = " · ".join(f"{kind} {_amount(v, currency)}" for kind, v in money.items()) or "none measured"
        lines += [
            f"**Cases along the flow:** {len(flow.cases)} (money per kind, never added across kinds: {totals})",
            "",
            "| stage | root check | title | leakage | exposure | cash | compliance | money on |",
            "|---|---|---|--:|--:|--:|--:|---|",
        ]
        for c in flow.cases:
            lines.append(
                f"| {_md(c.get('stage'))} | {_md(c.get('root_check_id'))} | {_md(c.get('title'))} | "
                f"{_amount(c.get('leakage_rc'), currency)} | {_amount(c.get('exposure_rc'), currency)} | "
                f"{_amount(c.get('cash_rc'), currency)} | {_md(c.get('compliance_findings') or '')} | "
                f"{_md(c.get('money_type'))} {_md(c.get('money_id'))} |"
            )
    else:
        lines.append("**Cases along the flow:** none")
    return "\n".join(lines) + "\n"
