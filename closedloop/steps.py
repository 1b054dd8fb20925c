"""The run's step clock: wall and CPU seconds, rows and peak memory of each pipeline step.

`closedloop run --json` carries these (RunReport.as_dict()["steps"]), and the benchmark reads them from
there, so its per-stage figures come from the code a customer runs rather than from a copy of it.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Step:
    """One timed step. CPU counts every thread of the process (DuckDB's and Polars' workers too)."""

    name: str
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    rows: int | None = None  # what the step processed, for rows/s (each step says which rows in the pipeline)
    peak_rss_mb: float = 0.0  # the process's peak so far, read as the step ends

    def as_dict(self) -> dict:
        return {
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "rows": self.rows,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


class StepClock:
    """Named steps in the order they first ran; a step timed in parts (before and after canon) adds up."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        rec = self.steps.setdefault(name, Step(name))
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield rec
        finally:
            rec.wall_seconds += time.perf_counter() - wall
            rec.cpu_seconds += time.process_time() - cpu
            rec.peak_rss_mb = peak_rss_mb()

    def as_dict(self) -> dict[str, dict]:
        return {name: s.as_dict() for name, s in self.steps.items()}


def peak_rss_mb() -> float:
    """This process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
