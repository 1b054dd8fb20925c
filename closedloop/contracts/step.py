"""The run's trust step: schema drift and raw contracts before canon; canon contracts, freshness and volume after.

A critical result fails its source for the run: the checks get it in suppressed_sources (reported
'suppressed', never passed) and the run is partial, so it is not published unless publish_partial.
The step only observes: its verdicts are stored (results.monitor, results.contract_result) before the checks
run, and the rules read them (Q2C-105/106/109); checks/ is the only writer of findings.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from closedloop import monitors
from closedloop import settings as cfgmod
from closedloop.contracts import ContractOutcome, run_contracts

log = logging.getLogger(__name__)


class TrustStep:
    """Holds what the monitors saw between the pipeline's phases, and applies verdicts to the run report."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, report, prev: Path | None) -> None:
        self.con, self.cfg, self.report, self.prev = con, cfg, report, prev
        self.started_at = dt.datetime.now(dt.UTC)
        self.observations: list[monitors.Observation] = []
        self.contracts: list[ContractOutcome] = []
        self.seconds = {"contracts": 0.0, "monitors": 0.0}

    def _timed(self, name: str, fn: Callable[[], None]) -> None:
        t0, status, detail = time.perf_counter(), "ok", None
        try:
            fn()
        except Exception as exc:  # a broken monitor is reported; it never takes the run down with it
            status, detail = "error", f"{type(exc).__name__}: {exc}"[:500]
            self.report.errors.append(f"{name}: {detail}")
            log.exception("%s step failed", name)
        secs = time.perf_counter() - t0
        self.seconds[name.split(".")[0]] += secs
        self.con.execute(
            "INSERT INTO meta.step VALUES (?, ?, ?, ?, ?, ?)",
            [self.report.run_id, name, dt.datetime.now(dt.UTC), round(secs, 3), status, detail],
        )

    def _collected(self) -> list:
        return [s for s in self.report.sources if s.status == "ok"]

    def before_canon(self, say: Callable[[str], None]) -> None:
        """Drift first (it restores dropped columns so mappings bind), then the raw streams' contracts."""
        streams = [
            (s.source, st.stream)
            for s in self._collected()
            for st in s.streams
            if st.table and st.status == "ok"  # absent streams: nothing was sent, so nothing drifted
        ]
        say("checking schema drift and raw data contracts")
        self._timed(
            "monitors.schema",
            lambda: self.observations.extend(
                monitors.schema_drift(self.con, self.cfg, self.report.run_id, self.prev, streams)
            ),
        )
        self._timed("contracts.raw", lambda: self._contracts("raw", [s.source for s in self._collected()]))

    def after_canon(self, say: Callable[[str], None]) -> None:
        """Canon contracts, freshness and volume; then every critical verdict fails its source."""
        say("checking canonical contracts, freshness and volume")
        self._timed("contracts.canon", lambda: self._contracts("canon", []))
        present = [s.source for s in self.report.sources if s.status in ("ok", "carried")]
        self._timed(
            "monitors.freshness",
            lambda: self.observations.extend(
                monitors.freshness(self.con, self.cfg, present, self.started_at)
            ),
        )
        self._timed(
            "monitors.volume",
            lambda: self.observations.extend(monitors.volume(self.con, self.cfg, self.report.run_id)),
        )
        # stored before the checks run: the rules Q2C-105/106/109 read this run's observations
        monitors.store(self.con, self.report.run_id, self.observations)
        self._apply()

    def _contracts(self, layer: str, sources: list[str]) -> None:
        outcome = run_contracts(self.con, self.cfg, run_id=self.report.run_id, layer=layer, sources=sources)
        self.contracts.append(outcome)
        self.report.errors.extend(outcome.errors[:5])

    def reasons(self) -> dict[str, list[str]]:
        """Source -> why it fails this run (critical contract results and monitor breaches)."""
        out: dict[str, list[str]] = {}
        for c in self.contracts:
            for src, msgs in c.critical.items():
                out.setdefault(src, []).extend(msgs)
        for o in self.observations:
            if o.status == "breach":
                where = o.source if o.stream == "*" else f"{o.source}.{o.stream}"
                out.setdefault(o.source, []).append(f"{o.monitor} {where}: {_describe(o)}")
        return out

    def _apply(self) -> None:
        by_source = {s.source: s for s in self.report.sources}
        for src, msgs in self.reasons().items():
            res = by_source.get(src)
            if res is not None and res.status != "failed":
                res.status = "failed"
            shown = "; ".join(msgs[:3]) + (f" (+{len(msgs) - 3} more)" if len(msgs) > 3 else "")
            self.report.errors.append(f"source {src} failed its data checks: {shown}")

    def summary(self) -> dict:
        failed = sum(len(c.failed) for c in self.contracts)
        return {
            "contracts_seconds": round(self.seconds["contracts"], 2),
            "monitors_seconds": round(self.seconds["monitors"], 2),
            "expectations": sum(len(c.rows) for c in self.contracts),
            "expectations_failed": failed,
            "breaches": [
                f"{o.monitor}:{o.source}.{o.stream}" for o in self.observations if o.status == "breach"
            ],
            "failed_sources": sorted(self.reasons()),
        }


def _describe(o: monitors.Observation) -> str:
    if o.monitor == "freshness":
        return f"{o.value:.1f} h old, SLA {o.threshold:g} h"
    if o.monitor == "volume":
        return f"{o.value:,.0f} rows vs median {o.threshold:,.0f}"
    return ", ".join(f"{k} {v}" for k, v in o.detail.items())
