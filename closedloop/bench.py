"""The benchmark: each stage in its own child process, K times; wall, CPU, peak RSS and rows/s of each.

A child's CPU time and peak RSS come from its own rusage (os.wait4), so one stage's memory is never
another's. The pipeline's steps (collect, canonical, contracts, checks, KPIs, publish) come from the step
clock of a real `closedloop run --json` (closedloop/steps.py): they time the code a customer runs.
bench_report.py turns the rows into targets, scaling exponents, the table and the docs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Stats:
    """Median, min and max over the repeats."""

    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: list[float | None]) -> Stats | None:
        vals = [v for v in values if v is not None]
        return cls(statistics.median(vals), min(vals), max(vals)) if vals else None


@dataclass
class Sample:
    """One repeat's measurement of one row."""

    wall: float
    cpu: float | None = None
    rows: int | None = None
    peak_rss_mb: float | None = None


@dataclass
class Row:
    """One line of the results: a stage or a step of one, over its repeats (or why it has no figures)."""

    name: str
    stage: str
    wall: Stats | None = None
    cpu: Stats | None = None
    peak_rss_mb: float | None = None  # the highest over the repeats
    rows: int | None = None
    repeats: int = 0
    counted: bool = False  # a step of the run: summed into the total (generate and the extras are not)
    error: str | None = None
    skipped: str | None = None
    note: str = ""  # what its rows are, what its CPU and RSS cover
    detail: dict = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, stage: str, samples: list[Sample], **kw: Any) -> Row:
        peaks = [s.peak_rss_mb for s in samples if s.peak_rss_mb is not None]
        rows = [s.rows for s in samples if s.rows is not None]
        return cls(
            name,
            stage,
            wall=Stats.of([s.wall for s in samples]),
            cpu=Stats.of([s.cpu for s in samples]),
            peak_rss_mb=max(peaks) if peaks else None,
            rows=rows[-1] if rows else None,  # the same snapshot every repeat: the same rows
            repeats=len(samples),
            **kw,
        )

    @property
    def rows_per_s(self) -> float | None:
        if self.rows is None or self.wall is None or self.wall.median <= 0:
            return None
        return self.rows / self.wall.median

    def as_dict(self) -> dict:
        doc = asdict(self)
        for key in ("wall", "cpu"):
            if doc[key]:
                doc[key] = {k: round(v, 3) for k, v in doc[key].items()}
        doc["rows_per_s"] = round(self.rows_per_s) if self.rows_per_s is not None else None
        return doc


@dataclass
class Child:
    """One child process: its wall and CPU seconds, peak RSS, exit code, the JSON it printed, its stderr."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    exit_code: int
    doc: Any
    stderr: str

    @property
    def error(self) -> str | None:
        if self.exit_code == 0 and self.doc is not None:
            return None
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        raised = [line for line in lines if re.match(r"[\w.]+(Error|Exception)\b", line)]  # not its context
        tail = (raised[-1] if raised else " | ".join(lines[-3:]))[-600:]
        return f"exit {self.exit_code}" + (f": {tail}" if tail else "") + ("" if self.doc else " (no JSON)")


def measure(argv: list[str]) -> Child:
    """Run argv as a child and read its own rusage (wait4): its CPU and peak RSS, nobody else's."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty stderr cannot block the child
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        out = proc.stdout.read() if proc.stdout else b""
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.stdout:
            proc.stdout.close()
        err.seek(0)
        stderr = err.read().decode(errors="replace")[-4000:]
    try:
        doc = json.loads(out.decode() or "null")
    except json.JSONDecodeError:
        doc = None
    cpu = usage.ru_utime + usage.ru_stime
    return Child(seconds, cpu, usage.ru_maxrss / 1024, proc.returncode, doc, stderr)


def module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", name, *args]


@dataclass
class Bench:
    """One benchmark at one size, and what its stages hand to the later ones."""

    tier: str
    work: Path
    people: int | None = None
    repeat: int = 1
    seed: int = 42
    config: Path | None = None  # the measured run's config: its published warehouse feeds later stages
    canon_rows: int | None = None
    sessions: int = 50  # the load stage's concurrent sessions

    @property
    def demo(self) -> Path:
        return self.work / "demo"

    def published(self) -> Path | None:
        from closedloop import settings
        from closedloop.warehouse import Warehouse

        return Warehouse.at(settings.load(self.config).data_dir).published_path() if self.config else None

    def reuse(self) -> None:
        """In a work dir a previous bench left: its last run, so later stages can run alone."""
        import duckdb

        runs = sorted(self.demo.glob("bench-run-*.toml"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        self.config = next((c for c in reversed(runs) if _run_dir(c).is_dir()), None)
        if (path := self.published()) is None:
            return
        with duckdb.connect(str(path), read_only=True) as con:  # counted as the run counts its canon rows
            tables = con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'canon'"
            ).fetchall()
            counts = {t: con.execute(f"SELECT count(*) FROM canon.{t}").fetchone()[0] for (t,) in tables}
        self.canon_rows = sum(n for t, n in counts.items() if t != "snapshot_meta")  # written after the count


# Stages by name, in the order they run (later stages read what earlier ones left in the work dir).
STAGES: dict[str, Callable[[Bench], list[Row]]] = {}


def stage(name: str):
    def register(fn):
        STAGES[name] = fn
        return fn

    return register


@stage("generate")
def generate_stage(b: Bench) -> list[Row]:
    """The demo firm and its exports, once: reported, not counted (a customer's data already exists)."""
    argv = module("closedloop.bench_generate", str(b.demo), "--tier", b.tier, "--seed", str(b.seed))
    child = measure(argv + (["--people", str(b.people)] if b.people else []))
    if child.error:
        return [Row("generate", "generate", error=child.error)]
    sample = Sample(child.seconds, child.cpu_seconds, child.doc["rows"], child.peak_rss_mb)
    note = "rows: the firm's canonical truth, every table; run once, not counted"
    return [Row.of("generate", "generate", [sample], note=note, detail=child.doc)]


# The run's steps as the table names them, and what each one's rows are (closedloop/pipeline.py).
STEPS = {
    "collect": ("collect (files)", "rows: raw rows written, every source"),
    "canonical": ("canonical build", "rows: canonical rows built"),
    "contracts": ("data contracts", "rows: raw + canonical rows validated (with drift, freshness, volume)"),
    "checks": ("checks", "rows: the canonical model the checks read"),
    "kpis": ("KPIs", "rows: the canonical model the KPIs read"),
    "publish": ("publish", "rows: raw + canonical rows in the run file it closes"),
}


@stage("pipeline")
def pipeline_stage(b: Bench) -> list[Row]:
    """`closedloop run --json` on the demo's files, K times, each on a fresh data dir (the same first run)."""
    base = b.demo / "closedloop.toml"
    if not base.is_file():
        return [
            Row("run end to end", "pipeline", error="no demo in the work dir: run the generate stage first")
        ]
    samples: dict[str, list[Sample]] = {step: [] for step in [*STEPS, "total"]}
    sources: dict[str, list[float]] = {}
    error = None
    for i in range(1, b.repeat + 1):
        cfg = _run_config(base, i)
        child = measure(module("closedloop.cli", "run", "--config", str(cfg), "--json"))
        doc = child.doc if isinstance(child.doc, dict) else {}
        steps = doc.get("steps") or {}
        if child.error or not steps:
            error = child.error or "the run reported no steps"
            if doc.get("errors"):
                error += f"; {doc['errors'][:3]}"
            break
        collect = {k.removeprefix("collect."): v for k, v in steps.items() if k.startswith("collect.")}
        samples["collect"].append(
            Sample(
                sum(v["wall_seconds"] for v in collect.values()),
                sum(v["cpu_seconds"] for v in collect.values()),
                sum(v["rows"] or 0 for v in collect.values()),
                max((v["peak_rss_mb"] for v in collect.values()), default=None),
            )
        )
        for src, v in collect.items():
            sources.setdefault(src, []).append(v["wall_seconds"])
        for name in list(STEPS)[1:]:
            if st := steps.get(name):
                samples[name].append(
                    Sample(st["wall_seconds"], st["cpu_seconds"], st["rows"], st["peak_rss_mb"])
                )
        samples["total"].append(Sample(child.seconds, child.cpu_seconds, doc.get("rows"), child.peak_rss_mb))
        b.canon_rows = sum(doc.get("canon_rows", {}).values())
        if b.config is not None and b.config != cfg:  # only the last repeat's run files are kept
            shutil.rmtree(_run_dir(b.config), ignore_errors=True)
        b.config = cfg
    rss = "; peak RSS: the run's process peak when the step ended"
    rows = [
        Row.of(label, "pipeline", samples[step], counted=True, note=note + rss)
        for step, (label, note) in STEPS.items()
    ]
    rows[0].detail = {"sources_wall_median": {s: round(statistics.median(v), 3) for s, v in sources.items()}}
    total = "the whole `closedloop run` process: its steps, setup and imports; rows: raw rows"
    rows.append(Row.of("run end to end", "pipeline", samples["total"], note=total, error=error))
    return rows


def _run_dir(config: Path) -> Path:
    return config.parent / "bench-runs" / config.stem.removeprefix("bench-run-")


def _run_config(base: Path, i: int) -> Path:
    """The demo's config with its own data dir, so every repeat is the same first run on the snapshot."""
    text = base.read_text(encoding="utf-8")
    if 'data_dir = "."' not in text:
        raise ValueError(f'{base}: expected the demo\'s data_dir = "."')
    cfg = base.with_name(f"bench-run-{i}.toml")
    cfg.write_text(text.replace('data_dir = "."', f'data_dir = "bench-runs/{i}"', 1), encoding="utf-8")
    shutil.rmtree(_run_dir(cfg), ignore_errors=True)
    return cfg


@stage("http")
def http_stage(b: Bench) -> list[Row]:
    """Every vendor collected over HTTP from the local sandbox, beside a bare httpx loop over the same pages
    (tiers s and m; a vendor beyond Salesforce, NetSuite and Ironclad on the first estate profile that has it)."""
    note = (
        "API streams only (NetSuite's bulk CSVs are files at every tier); rows: records; "
        "CPU n/a: the sandbox serves from the same process"
    )
    if b.tier == "l":
        return [
            Row("collect (HTTP)", "http", skipped="HTTP collection is timed at tiers s and m only", note=note)
        ]
    if not (b.demo / "exports").is_dir():
        return [Row("collect (HTTP)", "http", error="no demo exports in the work dir: run generate first")]
    argv = module("closedloop.sandbox.bench", "--tier", b.tier, "--seed", str(b.seed), "--dir", str(b.demo))
    samples: list[Sample] = []
    per_vendor: dict[str, list[Sample]] = {}
    detail: dict = {}
    error = None
    for _ in range(b.repeat):
        child = measure(argv)
        if child.error:
            error = child.error
            break
        vendors = {k: v for k, v in child.doc.items() if isinstance(v, dict) and "records" in v}
        wall = sum(v["collector_seconds"] for v in vendors.values())
        samples.append(Sample(wall, None, sum(v["records"] for v in vendors.values()), child.peak_rss_mb))
        for k, v in vendors.items():
            per_vendor.setdefault(k, []).append(Sample(v["collector_seconds"], None, v["records"]))
        detail = {k: v for k, v in child.doc.items() if isinstance(v, dict)}
    rows = [Row.of("collect (HTTP)", "http", samples, note=note, error=error, detail=detail)]
    # one line per system: its collector's records/s beside a bare httpx loop over the same pages
    for vendor, doc in detail.items():
        rows.append(
            Row.of(
                f"  {vendor}",
                "http",
                per_vendor.get(vendor, []),
                note=(
                    f"{doc.get('collector_records_per_s')} records/s; bare httpx loop"
                    f" {doc.get('bare_httpx_records_per_s')} records/s (collector/bare time"
                    f" {doc.get('collector_vs_bare')}x)"
                    + (f"; estate {doc['estate']}" if doc.get("estate") else "")
                )
                if "records" in doc
                else "",
                error=doc.get("error"),
                detail=doc,
            )
        )
    return rows


@stage("checks")
def checks_stage(b: Bench) -> list[Row]:
    """Checks and KPIs alone on a copy of the run's warehouse, in their own process (their own RSS)."""
    path = b.published()
    if path is None:
        return [
            Row("checks + KPIs alone", "checks", error="no published run in the work dir: run pipeline first")
        ]
    samples, detail, error = [], {}, None
    for _ in range(b.repeat):
        child = measure(module("closedloop.bench_checks", str(path), str(b.config)))
        if child.error:
            error = child.error
            break
        detail = child.doc
        samples.append(Sample(child.doc["total_seconds"], None, b.canon_rows, child.peak_rss_mb))
    note = "rows: the canonical model; CPU n/a (the process also copies the file); RSS: its own process"
    return [Row.of("checks + KPIs alone", "checks", samples, note=note, error=error, detail=detail)]


@stage("engines")
def engines_stage(b: Bench) -> list[Row]:
    """All checks + KPIs of the run on DuckDB, PostgreSQL and Spark, each in its own process; an engine's cost
    beyond the rules (sending the model, transpiling) on lines of its own (bench_engines)."""
    path = b.published()
    if path is None:
        return [Row("engines", "engines", error="no published run in the work dir: run pipeline first")]
    rows: list[Row] = []
    for kind in ("duckdb", "postgres", "spark"):
        with engine_for_bench(kind) as (url, why):
            if why:
                rows.append(Row(f"engine: {kind}", "engines", skipped=why))
                continue
            doc, samples, error = {}, {"total": [], "send": [], "transpile": []}, None
            for _ in range(b.repeat):
                child = measure(module("closedloop.bench_engines", str(path), kind, url))
                if child.error or (child.doc or {}).get("errors"):
                    error = child.error or f"rules the engine refused: {child.doc['errors']}"
                    break
                doc = child.doc
                samples["total"].append(Sample(doc["total_seconds"], None, b.canon_rows, child.peak_rss_mb))
                samples["send"].append(Sample(doc["send_seconds"], None, doc["rows_out"]))
                samples["transpile"].append(Sample(doc["transpile_seconds"]))
            note = "every check and KPI of the run; rows: the canonical model; RSS: the driver process"
            rows.append(
                Row.of(f"engine: {kind}", "engines", samples["total"], note=note, error=error, detail=doc)
            )
            if kind != "duckdb" and samples["send"]:
                sent = "inside the line above: the model and findings sent over the wire; rows: rows sent"
                rows.append(Row.of(f"engine: {kind}, sending data", "engines", samples["send"], note=sent))
                rows.append(
                    Row.of(
                        f"engine: {kind}, transpiling",
                        "engines",
                        samples["transpile"],
                        note="SQLGlot, inside",
                    )
                )
    return rows


@contextlib.contextmanager
def engine_for_bench(kind: str):
    """(url, None) for an engine the bench can use, or (None, why not). PostgreSQL: CLOSEDLOOP_BENCH_POSTGRES_URL
    (password in CLOSEDLOOP_ENGINE_PASSWORD) or a throwaway local cluster; Spark: CLOSEDLOOP_BENCH_SPARK_URL or
    local[2]."""
    if kind == "duckdb":
        yield "", None
    elif kind == "postgres" and os.environ.get("CLOSEDLOOP_BENCH_POSTGRES_URL"):
        yield os.environ["CLOSEDLOOP_BENCH_POSTGRES_URL"], None
    elif kind == "postgres":
        from closedloop.engines.pgcluster import Cluster, pg_bin

        if not pg_bin("initdb"):
            yield None, "no PostgreSQL: install its server or set CLOSEDLOOP_BENCH_POSTGRES_URL"
            return
        cluster = Cluster().start()
        old = os.environ.get("CLOSEDLOOP_ENGINE_PASSWORD")
        os.environ["CLOSEDLOOP_ENGINE_PASSWORD"] = cluster.password  # the child's, for this cluster only
        try:
            yield cluster.url, None
        finally:
            cluster.stop()
            if old is None:
                del os.environ["CLOSEDLOOP_ENGINE_PASSWORD"]
            else:
                os.environ["CLOSEDLOOP_ENGINE_PASSWORD"] = old
    elif kind == "spark" and os.environ.get("CLOSEDLOOP_BENCH_SPARK_URL"):
        yield (
            os.environ["CLOSEDLOOP_BENCH_SPARK_URL"],
            None,
        )  # sc://… (its token in CLOSEDLOOP_ENGINE_PASSWORD)
    elif kind == "spark" and importlib.util.find_spec("pyspark") is None:
        yield None, "no pyspark: pip install 'pyspark[connect]>=4' or set CLOSEDLOOP_BENCH_SPARK_URL"
    elif kind == "spark" and not shutil.which("java"):
        yield None, "no Java runtime for Spark local[2]: install Java 17+ or set CLOSEDLOOP_BENCH_SPARK_URL"
    else:
        yield "local[2]", None  # Spark in the child process, on both cores of this machine


BASELINES = {"engine": "engine", "pandas": "pandas", "gx": "Great Expectations", "scan_floor": "scan floor"}


def baselines_available() -> bool:
    return importlib.util.find_spec("closedloop.bench_baselines") is not None


@stage("baselines")
def baselines_stage(b: Bench) -> list[Row]:
    """The same checks by our engine, pandas, GX and a bare scan, on the same snapshot (bench_baselines)."""
    if not baselines_available():
        return [Row("baselines", "baselines", error="bench_baselines not available")]
    path = b.published()
    if path is None:
        return [Row("baselines", "baselines", error="no published run in the work dir: run pipeline first")]
    child = measure(module("closedloop.bench_baselines", str(path), "--repeat", str(b.repeat)))
    doc = child.doc if isinstance(child.doc, dict) else {}
    if child.error or not isinstance(doc.get("methods"), dict):
        return [Row("baselines", "baselines", error=child.error or "no 'methods' in its output")]
    rows, big = [], doc.get("rows") or {}
    note = "the same checks, same snapshot; rows: its time entries + invoice lines; RSS: the one process"
    for key, label in BASELINES.items():
        m = doc["methods"].get(key)
        if not m:
            rows.append(Row(f"baseline: {label}", "baselines", error="not in bench_baselines' output"))
            continue
        wall = Stats(m["median_seconds"], m["min_seconds"], m["max_seconds"])
        rows.append(
            Row(f"baseline: {label}", "baselines", wall=wall, peak_rss_mb=child.peak_rss_mb,
                rows=sum(big.values()) or None, repeats=b.repeat, note=note, detail={"method": key})
        )  # fmt: skip
    rows[0].detail |= {k: doc.get(k) for k in ("checks", "rows", "ratios", "targets", "all_agree", "agree")}
    return rows


@stage("queue")
def queue_stage(b: Bench) -> list[Row]:
    """The case queue's queries as its page runs them, cold: the first page and a group's expansion."""
    if b.config is None or b.published() is None:
        return [Row("queue", "queue", error="no published run in the work dir: run pipeline first")]
    child = measure(module("closedloop.bench_queue", str(b.config), "--repeat", str(b.repeat)))
    if child.error:
        return [Row("queue", "queue", error=child.error)]
    doc = child.doc
    note = "the queue's cached queries from empty caches (app/queries_cases.py), no browser; rows: cases"
    first = [Sample(x, None, doc.get("cases"), child.peak_rss_mb) for x in doc["first_page_runs"]]
    expansion = doc.get("group_expansion_max_seconds")
    rows = [Row.of("queue: first page (queries)", "queue", first, note=note, detail=doc)]
    if expansion is not None:
        rows.append(
            Row.of(
                "queue: group expansion (queries)",
                "queue",
                [Sample(expansion, None, None, child.peak_rss_mb)],
                note="the slowest grouping's largest group: its first page of cases and its keys (median)",
            )
        )
    return rows


@stage("pages")
def pages_stage(b: Bench) -> list[Row]:
    """Each page's first render and trace lookups in headless Chromium, over the run's warehouse."""
    if b.config is None or b.published() is None:
        return [Row("pages", "pages", error="no published run in the work dir: run pipeline first")]
    from closedloop.bench_pages import CHROMIUM

    if importlib.util.find_spec("playwright") is None or not Path(CHROMIUM).is_file():
        return [
            Row(
                "pages",
                "pages",
                error=f"needs playwright (the dev extra) and Debian's chromium at {CHROMIUM}",
            )
        ]
    renders: dict[str, list[Sample]] = {}
    error, detail = None, {}
    for _ in range(b.repeat):
        child = measure(module("closedloop.bench_pages", str(b.config)))
        if child.error:
            error = child.error
            break
        for page, secs in child.doc["first_render_seconds"].items():
            renders.setdefault(f"page: {page}", []).append(Sample(secs, None, None, child.peak_rss_mb))
        lookup = child.doc.get("trace_lookup_median_seconds")
        if lookup is not None:
            renders.setdefault("trace lookup", []).append(Sample(lookup, None, None, child.peak_rss_mb))
        expand = child.doc.get("queue_group_expansion_median_seconds")
        if expand is not None:
            renders.setdefault("queue: group expansion (browser)", []).append(
                Sample(expand, None, None, child.peak_rss_mb)
            )
        detail = child.doc
    if not renders:
        return [Row("pages", "pages", error=error or "no page rendered")]
    note = (
        "first render in a new browser page; trace: median of its lookups; RSS: the app, browser and driver"
    )
    rows = [Row.of(name, "pages", samples, note=note) for name, samples in renders.items()]
    rows[0].detail, rows[-1].error = detail, error
    return rows


LOAD_PHASES = {"idle": "", "run": ", run in progress"}


@stage("load")
def load_stage(b: Bench) -> list[Row]:
    """N concurrent sessions over Streamlit's websocket protocol: each page's script run, p50/p95 (bench_load)."""
    if b.config is None or b.published() is None:
        return [Row("load", "load", error="no published run in the work dir: run pipeline first")]
    argv = module("closedloop.bench_load", str(b.config), "--sessions", str(b.sessions))
    child = measure(argv)
    if child.error:
        return [Row("load", "load", error=child.error)]
    doc, rows = child.doc, []
    for phase, label in LOAD_PHASES.items():
        for page, st in (doc.get(phase) or {}).get("pages", {}).items():
            note = (
                f"{doc['sessions']} sessions, think {doc['think_seconds']} s; wall: p50 of the page's script "
                f"runs (rerun request to script_finished), min-max; p95 in detail{label}"
            )
            wall = Stats(st["p50"], st["min"], st["max"]) if "p50" in st else None
            err = f"{st['errors']} of {st['runs']} runs failed: {st['error_kinds']}" if st["errors"] else None
            rows.append(
                Row(f"load: {page}{label}", "load", wall=wall, rows=st["runs"], repeats=st["runs"],
                    peak_rss_mb=child.peak_rss_mb, note=note, error=err, detail={"phase": phase, **st})
            )  # fmt: skip
    for phase, label in LOAD_PHASES.items():
        if (doc.get(phase) or {}).get("error"):
            rows.append(Row(f"load{label}", "load", error=doc[phase]["error"]))
    if rows:
        rows[0].detail |= {"bench_load": doc}
    return rows or [Row("load", "load", error="bench_load measured no page")]


def run_bench(b: Bench, stages: list[str], say: Callable[[str], None] = lambda _m: None) -> list[Row]:
    """Run the named stages in registry order in one work directory."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(unknown)}; known: {', '.join(STAGES)}")
    b.work.mkdir(parents=True, exist_ok=True)
    if "pipeline" not in stages:
        b.reuse()
    rows: list[Row] = []
    for name in STAGES:
        if name in stages:
            say(f"stage {name} ({b.repeat}x)" if name not in ("generate", "baselines") else f"stage {name}")
            rows.extend(STAGES[name](b))
    return rows
