"""What the app reads besides warehouse SQL: rule definitions (checks.loader) and the ops-store run ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import streamlit as st

TTL = 3600


@dataclass
class CheckDef:
    """A check definition as the catalog shows it (from the rule file)."""

    id: str
    title: str
    severity: str
    owner: str
    domain: str
    description: str
    remediation: str
    impact_kind: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    systems: tuple[str, ...] = ()
    stage: str = (
        ""  # where in the flow the break sits (checks.loader.STAGES): a case's root cause is its earliest
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def check_definitions() -> list[CheckDef]:
    """Rule files parsed by checks.loader (no warehouse needed)."""
    from checks.loader import load_checks

    return [
        CheckDef(
            c.id,
            c.title,
            c.severity,
            c.owner,
            c.domain,
            c.description,
            c.remediation,
            c.impact_kind,
            c.sql,
            dict(c.params),
            tuple(c.systems),
            c.stage,
        )
        for c in load_checks()
    ]


def run_ledger(ops_url: str, limit: int = 30) -> pl.DataFrame:
    """The ops store's run ledger (every attempt, including failed and killed runs); not cached: it moves."""
    from closedloop.ops import OpsStore

    rows = OpsStore(ops_url).runs(limit)
    cols = (
        "run_id",
        "started_at",
        "finished_at",
        "status",
        "trigger",
        "published",
        "rows",
        "seconds",
        "errors",
    )
    return pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema_overrides={"errors": pl.String})
