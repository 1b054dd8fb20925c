"""Where the checks and KPIs run: DuckDB (the run's own file), PostgreSQL or Apache Spark.

One small interface, so the check step does not care which: run a statement, create a table from Arrow,
fetch Arrow. Only findings, cases and KPI values come back into the run's DuckDB file; the app reads a run the
same whichever engine computed it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

if TYPE_CHECKING:
    from checks.remote import Remote

KINDS = ("duckdb", "postgres", "spark")
DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "spark": "spark"}


class EngineUnreachable(Exception):
    """The engine could not be reached: the message names the URL (password redacted) and the driver's reason."""


class Engine(Protocol):
    """What the check step needs of an engine."""

    kind: str
    dialect: str

    def execute(self, sql: str) -> None: ...

    def fetch_arrow(self, sql: str) -> pa.Table: ...

    def create_table(self, name: str, table: pa.Table) -> int:
        """Replace table `name` (schema.table) with the Arrow table's rows; returns the bytes sent."""
        ...

    def create_as(self, name: str, select: str, *, materialize: bool) -> None:
        """Replace view `name` (a table when `materialize`) with the result of `select`."""
        ...

    def analyze(self, name: str) -> None:
        """Fresh planner statistics for a table the engine filled by statements (PostgreSQL's ANALYZE)."""
        ...

    def close(self) -> None: ...


PASSWORD_IN_URL = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?=@)", re.I)
PASSWORD_PARAM = re.compile(r"(?P<head>[?&;](password|token)=)(?P<pw>[^&;\s]*)", re.I)


def redact_url(url: str) -> str:
    """The URL with any password or token replaced by ***, for messages and logs."""
    url = PASSWORD_IN_URL.sub(lambda m: m.group("head") + "***", url)
    return PASSWORD_PARAM.sub(lambda m: m.group("head") + "***", url)


def redact(text: str, *secrets: str | None) -> str:
    """A driver's message with the given secrets (and any URL password) removed."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return redact_url(text)


def connect(cfg: Any) -> Remote | None:
    """The [engine] a run's checks and KPIs execute on, connected; None for DuckDB (the run's own file).
    The password comes from CLOSEDLOOP_ENGINE_PASSWORD (or secrets.toml [engine] password), never the TOML."""
    from checks.remote import Remote
    from closedloop.settings import secret

    kind = cfg.get("engine", "kind")
    if kind == "duckdb":
        return None
    url = cfg.get("engine", "url")
    if not url:
        raise EngineUnreachable(f"[engine] url is required for kind = {kind!r}")
    from closedloop.engines.canon_build import build_on_engine

    password = secret("engine", "password")
    return Remote(
        open_engine(kind, url, password),
        password=password,
        canonical_schema=cfg.get("engine", "canonical_schema"),
        work_schema=cfg.get("engine", "work_schema"),
        canonical=cfg.get("engine", "canonical"),
        build=lambda con, remote: build_on_engine(con, cfg, remote),
    )


def open_engine(kind: str, url: str = "", password: str | None = None) -> Engine:
    """Connect to the engine; raise EngineUnreachable (URL redacted, driver's message) when it cannot."""
    if kind == "postgres":
        from closedloop.engines.postgres import PostgresEngine

        return PostgresEngine(url, password)
    if kind == "spark":
        from closedloop.engines.spark import SparkEngine

        return SparkEngine(url, password)
    raise ValueError(f"[engine] kind {kind!r} has no remote engine (one of: {', '.join(KINDS)})")
