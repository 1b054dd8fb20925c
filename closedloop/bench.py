"""The benchmark: wall time and peak memory of each stage, each in its own process so RSS is its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StageResult:
    """One measured stage: what ran, how long, how much memory at peak, and what it reported."""

    stage: str
    seconds: float
    peak_rss_mb: float
    exit_code: int
    detail: dict = field(default_factory=dict)


def measure(stage: str, argv: list[str], *, env: dict | None = None, cwd: Path | None = None) -> StageResult:
    """Run argv as a child and read its own rusage (wait4), so each stage's peak RSS is its own."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}, cwd=cwd
    )
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        detail = json.loads(out.decode() or "{}")
    except json.JSONDecodeError:
        detail = {"stdout": out.decode(errors="replace")[-2000:]}
    return StageResult(stage, round(seconds, 2), round(usage.ru_maxrss / 1024, 1), proc.returncode, detail)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "closedloop.cli", *args]


# Stages are registered by name; each takes (tier, workdir) and returns its measured results.
STAGES: dict[str, Callable[[str, Path], list[StageResult]]] = {}


def stage(name: str):
    def register(fn):
        STAGES[name] = fn
        return fn

    return register


@stage("demo")
def demo_stage(tier: str, work: Path) -> list[StageResult]:
    """Generate, export, collect, map, check and publish the demo firm of a tier."""
    return [
        measure(
            f"demo tier {tier}",
            cli("demo", "--tier", tier, "--out", str(work / "demo"), "--json", "--no-serve"),
        )
    ]


@stage("collectors")
def collectors_stage(tier: str, work: Path) -> list[StageResult]:
    """Records/s of each API collector against the local sandbox, and a bare httpx loop over the same pages."""
    demo = work / "demo"  # reuse the demo stage's exports when it ran first
    target = demo if (demo / "exports").is_dir() else work / "sandbox"
    argv = [sys.executable, "-m", "closedloop.sandbox.bench", "--tier", tier, "--dir", str(target)]
    return [measure(f"collectors tier {tier}", argv)]


@stage("checks")
def checks_stage(tier: str, work: Path) -> list[StageResult]:
    """All checks and KPIs on the demo's published warehouse (the demo stage must have run first)."""
    from closedloop.warehouse import Warehouse

    path = Warehouse.at(work / "demo").published_path()
    if path is None:
        return [
            StageResult(
                f"checks tier {tier}", 0.0, 0.0, 1, {"error": "no published demo warehouse in the work dir"}
            )
        ]
    return [measure(f"checks+KPIs tier {tier}", [sys.executable, "-m", "closedloop.bench_checks", str(path)])]


@stage("pages")
def pages_stage(tier: str, work: Path) -> list[StageResult]:
    """Each page's first render and trace lookups in headless Chromium, over the demo's warehouse."""
    cfg = work / "demo" / "closedloop.toml"
    if not cfg.is_file():
        return [StageResult(f"pages tier {tier}", 0.0, 0.0, 1, {"error": "run the demo stage first"})]
    return [measure(f"pages tier {tier}", [sys.executable, "-m", "closedloop.bench_pages", str(cfg)])]


def run_bench(tier: str, stages: list[str], work: Path | None = None) -> list[StageResult]:
    """Run the named stages in order in one work directory (the demo first: later stages read it)."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(unknown)}; known: {', '.join(STAGES)}")
    work = work or Path(tempfile.mkdtemp(prefix=f"closedloop-bench-{tier}-"))
    results: list[StageResult] = []
    for name in stages:
        results.extend(STAGES[name](tier, work))
    return results
