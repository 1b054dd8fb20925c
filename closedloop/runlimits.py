"""Runs started by `closedloop serve` (cron jobs, 'run now' from the app) yield the machine to the app.

A run at tier m keeps both cores busy for a minute; the app serving people beside it on the same machine must
not wait behind it. So a served run executes at a lower CPU priority ([schedule] run_nice) and with its own
DuckDB limits ([schedule] run_threads, run_memory_limit), while a run typed at the CLI keeps [warehouse]'s.

Priority is per thread on Linux: the scheduler's job thread lowers its own, and every thread it then starts
(DuckDB's workers, created when the run's connection opens) inherits it. The app is another process (`serve`
starts it with the normal priority), so nothing it does is slowed.
"""

from __future__ import annotations

import copy
import logging
import os
import threading

from closedloop import settings

log = logging.getLogger(__name__)


def lower_priority(nice: int) -> int:
    """Lower the calling thread's CPU priority to at least `nice` (never raise it); the niceness it now has."""
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)  # Linux: a thread id names that thread only
        if nice > now:
            os.setpriority(os.PRIO_PROCESS, tid, min(nice, 19))
        return os.getpriority(os.PRIO_PROCESS, tid)
    except (OSError, AttributeError) as exc:  # not Linux, or not permitted: the run still runs
        log.warning("could not lower the run's priority to nice %s: %s", nice, exc)
        return nice


def served(cfg: settings.Config) -> settings.Config:
    """The config a served run uses (its DuckDB limits), with the calling thread's priority lowered."""
    nice = cfg.get("schedule", "run_nice")
    if nice > 0:
        lower_priority(nice)
    out = copy.copy(cfg)
    out.values = {**cfg.values, "warehouse": dict(cfg.values["warehouse"])}
    if cfg.get("schedule", "run_threads") > 0:
        out.values["warehouse"]["threads"] = cfg.get("schedule", "run_threads")
    if cfg.get("schedule", "run_memory_limit").strip():
        out.values["warehouse"]["memory_limit"] = cfg.get("schedule", "run_memory_limit").strip()
    return out
