"""The DuckDB warehouse: one file per run, published atomically; the app reads the published one."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets as _secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

SCHEMAS = ("raw", "canon", "results", "meta")
POINTER = "current.json"
TMP_PREFIX = f".{POINTER}."  # the pointer is written to .current.json.<pid>.tmp, then renamed

# Tables whose rows accumulate across runs: copied from the published run into every new run.
# results.check_run, results.kpi and results.finding_history are not here: the checks runner carries
# them itself (checks/results.carry_forward), so they are copied once, by their owner.
HISTORY_TABLES = (
    "meta.run_history",
    "meta.source_history",
    "meta.stream_state",
    "results.contract_result",  # data contracts' pass/fail per run (Data health)
    "results.monitor",  # freshness, volume and schema drift per run (Data health)
)

META_DDL = """
CREATE TABLE IF NOT EXISTS meta.run(run_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    status VARCHAR, as_of DATE, trigger VARCHAR, reporting_currency VARCHAR, config_path VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS meta.run_history(run_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    status VARCHAR, as_of DATE, trigger VARCHAR, rows BIGINT, errors INTEGER, seconds DOUBLE);
CREATE TABLE IF NOT EXISTS meta.source_run(run_id VARCHAR, source VARCHAR, system VARCHAR, transport VARCHAR,
    stream VARCHAR, raw_table VARCHAR, status VARCHAR, rows BIGINT, files INTEGER, seconds DOUBLE,
    extracted_at TIMESTAMPTZ, error VARCHAR, extra_fields VARCHAR, missing_fields VARCHAR, absent_reason VARCHAR);
CREATE TABLE IF NOT EXISTS meta.source_history(run_id VARCHAR, source VARCHAR, stream VARCHAR, status VARCHAR,
    rows BIGINT, seconds DOUBLE, extracted_at TIMESTAMPTZ, error VARCHAR);
CREATE TABLE IF NOT EXISTS meta.stream_state(source VARCHAR, stream VARCHAR, cursor VARCHAR, run_id VARCHAR,
    updated_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS meta.step(run_id VARCHAR, step VARCHAR, started_at TIMESTAMPTZ, seconds DOUBLE,
    status VARCHAR, detail VARCHAR);
"""


def sql_literal(value: object) -> str:
    """A value as a quoted SQL string literal, for the statements DuckDB takes no parameters in (ATTACH)."""
    return "'" + str(value).replace("'", "''") + "'"


def attach_read_only(con: duckdb.DuckDBPyConnection, path: Path | str, alias: str) -> None:
    """ATTACH a run file read-only; the path is quoted, never pasted (a data_dir may hold an apostrophe)."""
    con.execute(f"ATTACH {sql_literal(path)} AS {alias} (READ_ONLY)")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id(now: dt.datetime | None = None) -> str:
    """Sortable, unique run id: UTC time then a short random tail."""
    now = now or utcnow()
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-" + _secrets.token_hex(3)


@dataclass(frozen=True)
class Warehouse:
    """Where a config's runs live: <data_dir>/warehouse/runs/<run_id>.duckdb plus the published pointer."""

    root: Path

    @classmethod
    def at(cls, data_dir: Path) -> Warehouse:
        return cls(Path(data_dir) / "warehouse")

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.duckdb"

    def published(self) -> dict | None:
        """The pointer to the published run, or None before the first good run."""
        p = self.root / POINTER
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        path = self.runs_dir / doc.get("file", "")
        return doc if path.is_file() else None

    def published_path(self) -> Path | None:
        doc = self.published()
        return self.runs_dir / doc["file"] if doc else None

    def create(
        self, run_id: str, *, threads: int = 2, memory_limit: str = "4GB"
    ) -> duckdb.DuckDBPyConnection:
        """A fresh run file with the warehouse schemas; nothing the app reads is touched."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_path(run_id)
        if path.exists():
            raise FileExistsError(f"run file {path} already exists")
        con = duckdb.connect(str(path), config={"threads": threads, "memory_limit": memory_limit})
        con.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on stdout for any query past 2 s (tier m): `run --json` owns stdout.
        # The setting is per connection; cursors opened from this one (the checks' threads) inherit it.
        con.execute("SET enable_progress_bar = false")
        for schema in SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(META_DDL)
        return con

    def carry_forward(self, con: duckdb.DuckDBPyConnection) -> Path | None:
        """Copy the history tables of the published run into this run, so trends survive every publish."""
        prev = self.published_path()
        if prev is None:
            return None
        attach_read_only(con, prev, "prev")
        try:
            have = {
                f"{s}.{t}"
                for s, t in con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'prev'"
                ).fetchall()
            }
            for table in HISTORY_TABLES:
                if table in have:
                    con.execute(f"DROP TABLE IF EXISTS {table}")
                    con.execute(f"CREATE TABLE {table} AS SELECT * FROM prev.{table}")
        finally:
            con.execute("DETACH prev")
        return prev

    def publish(self, run_id: str) -> None:
        """Make a closed, checkpointed run the current one with one atomic rename of the pointer.

        The pointer also names the run it replaces: readers that read the pointer a moment ago may be
        opening that file, so pruning keeps it (see prune)."""
        path = self.run_path(run_id)
        _fsync(path)
        before = self.published()
        doc = {"run_id": run_id, "file": path.name, "published_at": utcnow().isoformat()}
        if before and before["file"] != path.name:
            doc["previous"] = before["file"]
        tmp = self.root / f"{TMP_PREFIX}{os.getpid()}.tmp"
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, self.root / POINTER)
        _fsync(self.root)

    def connect_published(self) -> duckdb.DuckDBPyConnection | None:
        """Read-only connection to the published run (the app's and the CLI's view).

        Should the file go between reading the pointer and opening it, the pointer is read again."""
        for attempt in range(3):
            path = self.published_path()
            if path is None:
                return None
            try:
                con = duckdb.connect(str(path), read_only=True)
            except duckdb.IOException:
                if attempt == 2 or path.is_file():
                    raise
                continue
            con.execute("SET TimeZone = 'UTC'")
            return con
        return None

    def in_use(self) -> set[str]:
        """File names a reader can be pointed at: the published run and the one it replaced."""
        doc = self.published() or {}
        return {name for name in (doc.get("file"), doc.get("previous")) if name}

    def prune(self, keep: int) -> list[Path]:
        """Delete run files beyond the newest `keep`, never one a reader can be pointed at (the published
        run and the one it replaced, even with keep = 0); returns what was removed."""
        protected = self.in_use()
        files = sorted(self.runs_dir.glob("*.duckdb"), reverse=True)
        removed = []
        for f in files[max(keep, 0) :]:
            if f.name in protected:
                continue
            self.remove_run_file(f)
            removed.append(f)
        return removed

    def remove_run_file(self, f: Path) -> None:
        """A run file and its write-ahead log."""
        for extra in (f, f.with_suffix(".duckdb.wal")):
            with contextlib.suppress(FileNotFoundError):
                extra.unlink()

    def orphan_pointer_temps(self, *, holding_lock: bool = False) -> list[Path]:
        """Pointer temp files whose writer is gone (killed between writing and renaming them). Only the
        run lock's holder publishes, so to the holder, before it publishes, every temp file is an orphan."""
        from closedloop.runlock import pid_alive

        orphans = []
        for tmp in self.root.glob(f"{TMP_PREFIX}*.tmp"):
            pid = tmp.name.removeprefix(TMP_PREFIX).removesuffix(".tmp")
            if holding_lock or not (pid.isdigit() and pid_alive(int(pid))):
                orphans.append(tmp)
        return orphans


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
