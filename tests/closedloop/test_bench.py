"""closedloop bench: the output's shape at a tiny firm. Times are the benchmark's business; no test asserts one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from closedloop import bench, bench_report
from closedloop.steps import StepClock

STEP_ROWS = ["collect (files)", "canonical build", "data contracts", "checks", "KPIs", "publish"]
SMOKE_STAGES = (
    "generate,pipeline,http,checks,engines,baselines,queue"  # pages: test_pages_and_a_trace_lookup (browser)
)
TARGETS = [
    "checks + KPIs at tier m",
    "checks + KPIs at tier l",
    "engine faster than pandas",
    "engine faster than GX",
    "engine within the scan floor",
    "peak RSS at tier l",
    "slowest page's first render at tier m",
    "trace lookup at tier m",
    "queue first page at tier m",
    "queue group expansion at tier m",
    "load: slowest page's p95 at tier m",
    "load: slowest page's p95 with a run, tier m",
]


def bench_json(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "closedloop.cli", "bench", "--json", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    doc = bench_json(
        "--tier", "s", "--people", "100", "--repeat", "1", "--stages", SMOKE_STAGES, "--work", str(work)
    )
    return doc, work


def rows_by_name(doc: dict) -> dict[str, dict]:
    return {r["name"]: r for r in doc["stages"]}


def assert_measured(row: dict) -> None:
    assert not row["error"], row
    wall, cpu = row["wall"], row["cpu"]
    assert 0 < wall["min"] <= wall["median"] <= wall["max"], row
    assert cpu is None or 0 < cpu["min"] <= cpu["median"] <= cpu["max"], row
    assert row["repeats"] >= 1 and row["peak_rss_mb"] > 0, row
    if row["rows"] is not None:
        assert row["rows"] > 0 and row["rows_per_s"] > 0, row


def test_every_stage_reports_wall_cpu_memory_and_rows(smoke):
    doc, _ = smoke
    assert (doc["tier"], doc["people"], doc["repeat"], doc["sized_tier"]) == ("s", 100, 1, None)
    rows = rows_by_name(doc)
    for name in ["generate", *STEP_ROWS, "run end to end", "collect (HTTP)", "checks + KPIs alone"]:
        assert name in rows, sorted(rows)
        assert_measured(rows[name])
    for name in STEP_ROWS:  # the run's own step clock: CPU and rows for every step
        assert rows[name]["counted"] and rows[name]["cpu"] and rows[name]["rows"], rows[name]
    assert not rows["generate"]["counted"] and not rows["run end to end"]["counted"]
    total = doc["total"]
    summed = sum(rows[n]["wall"]["median"] for n in STEP_ROWS)
    assert total["steps_seconds"] == pytest.approx(summed, abs=0.01)
    assert total["dominant"] in STEP_ROWS and 0 < total["dominant_share"] <= 1
    assert total["end_to_end_seconds"] > 0 and doc["peak_rss_mb"] > 0


def test_http_reports_records_per_second_for_every_system_beside_a_bare_loop(smoke):
    from closedloop.sandbox.vendors import VENDORS

    doc, _ = smoke
    rows = rows_by_name(doc)
    for vendor in VENDORS:  # the three built in and every vendor plugged into the sandbox
        row = rows[f"  {vendor}"]
        assert not row["error"], row
        assert row["rows"] > 0 and row["wall"]["median"] > 0, row
        assert row["detail"]["bare_httpx_records"] > 0 and row["detail"]["bare_httpx_records_per_s"] > 0, row
        assert "records/s; bare httpx loop" in row["note"], row


def test_engines_time_every_check_and_kpi_with_the_data_moved_and_transpiling_apart(smoke):
    doc, _ = smoke
    rows = rows_by_name(doc)
    duck = rows["engine: duckdb"]
    assert_measured(duck)
    assert duck["detail"]["findings"] > 0 and not duck["detail"]["errors"], duck["detail"]
    assert duck["detail"]["bytes_out"] == 0
    for kind in ("postgres", "spark"):
        row = rows[f"engine: {kind}"]
        assert_measured(row)
        assert not row["detail"]["errors"], row["detail"]
        assert row["detail"]["findings"] == duck["detail"]["findings"]  # the same rules, the same rows
        assert row["detail"]["bytes_out"] > 0
        sent, transpiled = rows[f"engine: {kind}, sending data"], rows[f"engine: {kind}, transpiling"]
        assert 0 < sent["wall"]["median"] < row["wall"]["median"] and sent["rows"] > 0, sent
        assert 0 < transpiled["wall"]["median"] < row["wall"]["median"], transpiled


def test_every_target_is_listed_with_its_verdict(smoke):
    doc, _ = smoke
    assert [t["target"] for t in doc["targets"]] == TARGETS
    for t in doc["targets"]:
        assert {"measured", "op", "limit", "unit", "applies", "met"} <= set(t)
        if t["applies"] and t["measured"] is not None:
            assert isinstance(t["met"], bool), t
        else:
            assert t["met"] is None, t
    by_name = {t["target"]: t for t in doc["targets"]}
    assert by_name["checks + KPIs at tier m"]["measured"] > 0  # measured at any size, judged at its tier
    assert not by_name["checks + KPIs at tier m"]["applies"]  # 100 people is not tier m


def test_the_queue_stage_times_the_first_page_and_a_group_expansion(smoke):
    doc, _ = smoke
    rows = rows_by_name(doc)
    for name in ("queue: first page (queries)", "queue: group expansion (queries)"):
        assert not rows[name]["error"] and rows[name]["wall"]["median"] > 0, rows[name]
    detail = rows["queue: first page (queries)"]["detail"]
    assert detail["cases"] > 0 and detail["first_page_rows"] == min(50, detail["cases"])
    assert set(detail["group_expansion_seconds"]) == {"check", "client", "sow", "owner", "age"}
    by_name = {t["target"]: t for t in doc["targets"]}
    assert (
        by_name["queue first page at tier m"]["measured"]
        == rows["queue: first page (queries)"]["wall"]["median"]
    )
    assert not by_name["queue first page at tier m"]["applies"]  # 100 people is not tier m


def test_the_queue_targets_prefer_what_the_browser_waited_for(tmp_path):
    b = bench.Bench("m", tmp_path, repeat=1)
    rows = [
        bench.Row.of("queue: first page (queries)", "queue", [bench.Sample(0.3)]),
        bench.Row.of("queue: group expansion (queries)", "queue", [bench.Sample(0.1)]),
    ]
    by_name = {t["target"]: t for t in bench_report.summarise(b, rows)["targets"]}
    assert (
        by_name["queue first page at tier m"]["measured"] == 0.3
        and by_name["queue first page at tier m"]["met"]
    )
    rows += [
        bench.Row.of("page: findings", "pages", [bench.Sample(2.2)]),
        bench.Row.of("queue: group expansion (browser)", "pages", [bench.Sample(0.45)]),
    ]
    by_name = {t["target"]: t for t in bench_report.summarise(b, rows)["targets"]}
    assert (
        by_name["queue first page at tier m"]["measured"] == 2.2
        and by_name["queue first page at tier m"]["met"] is False
    )
    assert by_name["queue group expansion at tier m"]["measured"] == 0.45
    assert by_name["queue group expansion at tier m"]["met"] is True


def test_the_baselines_stage_reports_each_method_or_says_why_not(smoke):
    doc, _ = smoke
    rows = rows_by_name(doc)
    if not bench.baselines_available():
        assert rows["baselines"]["error"] == "bench_baselines not available"
        return
    assert "baselines" not in rows, rows["baselines"]["error"]  # present, so it must run
    for label in bench.BASELINES.values():
        assert_measured(rows[f"baseline: {label}"])
    assert set(doc["baselines"]["ratios"]) == {
        "pandas_over_engine",
        "gx_over_engine",
        "engine_over_scan_floor",
    }


@pytest.mark.browser
def test_pages_and_a_trace_lookup(smoke):
    _, work = smoke  # the smoke run's work dir: its published run is reused
    doc = bench_json(
        "--tier", "s", "--people", "100", "--repeat", "1", "--stages", "pages", "--work", str(work)
    )
    rows = rows_by_name(doc)
    assert {"page: overview", "page: findings", "trace lookup", "queue: group expansion (browser)"} <= set(
        rows
    ), doc["stages"]
    for name, row in rows.items():
        if name.startswith(("page:", "trace", "queue:")):
            assert_measured(row)


def test_scale_reports_a_growth_exponent_per_stage(tmp_path):
    doc = bench_json("--scale", "100,150", "--stages", "generate", "--repeat", "1", "--work", str(tmp_path))
    assert [r["people"] for r in doc["runs"]] == [100, 150]
    assert doc["scale"]["sizes"] == [100, 150]
    assert isinstance(doc["scale"]["exponents"]["generate"], float)
    assert set(doc["scale"]["seconds"]["generate"]) == {"100", "150"}


def summary(people: int, seconds: dict[str, float]) -> dict:
    stages = [{"name": n, "wall": {"median": s, "min": s, "max": s}} for n, s in seconds.items()]
    dominant = max(seconds, key=seconds.get)
    return {"people": people, "stages": stages, "total": {"dominant": dominant}}


def test_the_growth_exponent_is_the_log_log_slope():
    runs = [
        summary(100, {"checks": 1.0, "canonical build": 2.0}),
        summary(1000, {"checks": 100.0, "canonical build": 20.0}),
    ]
    scale = bench_report.scaling(runs)
    assert scale["exponents"] == {"checks": 2.0, "canonical build": 1.0}
    assert scale["dominant"] == {100: "canonical build", 1000: "checks"}


def test_baseline_ratios_and_their_targets(monkeypatch, tmp_path):
    methods = {
        "engine": {"median_seconds": 1.0, "min_seconds": 0.9, "max_seconds": 1.2, "per_check": {}},
        "pandas": {"median_seconds": 6.0, "min_seconds": 5.0, "max_seconds": 7.0, "per_check": {}},
        "gx": {"median_seconds": 8.0, "min_seconds": 8.0, "max_seconds": 9.0, "per_check": {}},
        "scan_floor": {"median_seconds": 0.25, "min_seconds": 0.2, "max_seconds": 0.3, "per_check": {}},
    }
    out = {
        "checks": ["Q2C-001"],
        "repeat": 3,
        "methods": methods,
        "ratios": {},
        "agree": True,
        "peak_rss_mb": 9,
    }
    b = bench.Bench("s", tmp_path, repeat=3)
    monkeypatch.setattr(bench, "baselines_available", lambda: True)
    monkeypatch.setattr(bench.Bench, "published", lambda self: tmp_path / "x.duckdb")
    monkeypatch.setattr(bench, "measure", lambda argv: bench.Child(1.0, 1.0, 50.0, 0, out, ""))
    rows = bench.baselines_stage(b)
    assert [r.name for r in rows] == [f"baseline: {label}" for label in bench.BASELINES.values()]
    doc = bench_report.summarise(b, rows)
    assert doc["baselines"]["ratios"] == {
        "pandas_over_engine": 6.0,
        "gx_over_engine": 8.0,
        "engine_over_scan_floor": 4.0,
    }
    met = {t["target"]: t["met"] for t in doc["targets"]}
    assert met["engine faster than pandas"] is True and met["engine faster than GX"] is False
    assert met["engine within the scan floor"] is True


def test_http_is_skipped_at_tier_l_with_a_reason(tmp_path):
    (row,) = bench.http_stage(bench.Bench("l", tmp_path))
    assert row.skipped and row.wall is None and not row.error


def test_write_docs_keeps_the_latest_results_and_the_readme_table(smoke, tmp_path):
    doc, _ = smoke
    (tmp_path / "README.md").write_text(
        f"# x\n\n{bench_report.README_START}\nold\n{bench_report.README_END}\nafter\n", encoding="utf-8"
    )
    written = bench_report.write_docs(doc, root=tmp_path)
    assert json.loads((tmp_path / "docs/bench/latest.json").read_text()) == doc
    readme = (tmp_path / "README.md").read_text()
    assert "old" not in readme and "| collect (files) |" in readme and readme.endswith("after\n")
    assert len(written) == 3


def test_a_step_timed_in_parts_adds_up():
    clock = StepClock()
    for _ in range(2):
        with clock.step("contracts") as step:
            sum(range(10_000))
            step.rows = 5
    rec = clock.as_dict()["contracts"]
    assert rec["rows"] == 5 and rec["wall_seconds"] >= 0 and rec["peak_rss_mb"] > 0
    assert list(clock.as_dict()) == ["contracts"]


def test_checks_alone_at_tier_l_judges_the_time_target_but_not_the_run_peak(tmp_path):
    """`--stages checks` on a tier-l work dir: its own process answers the 60 s target; its memory is
    not the whole run's peak (data contracts weigh more), so the RSS target stays unmeasured."""
    b = bench.Bench("l", tmp_path, repeat=3)
    samples = [bench.Sample(w, w * 1.5, 35_000_000, 5_000.0) for w in (37.4, 40.7, 48.0)]
    doc = bench_report.summarise(b, [bench.Row.of("checks + KPIs alone", "checks", samples)])
    by_name = {t["target"]: t for t in doc["targets"]}
    assert by_name["checks + KPIs at tier l"]["measured"] == 40.7
    assert by_name["checks + KPIs at tier l"]["met"] is True
    assert by_name["peak RSS at tier l"]["measured"] is None and by_name["peak RSS at tier l"]["met"] is None


def test_the_page_targets_hold_the_slowest_page_and_the_lookup_median(tmp_path):
    b = bench.Bench("m", tmp_path, repeat=3)
    rows = [
        bench.Row.of(f"page: {name}", "pages", [bench.Sample(w, None, None, 400.0) for w in walls])
        for name, walls in (("overview", (1.4, 1.5, 1.9)), ("findings", (1.6, 2.4, 2.5)))
    ]
    rows.append(
        bench.Row.of("trace lookup", "pages", [bench.Sample(w, None, None, 400.0) for w in (0.2, 0.25, 0.4)])
    )
    by_name = {t["target"]: t for t in bench_report.summarise(b, rows)["targets"]}
    assert (
        by_name["slowest page's first render at tier m"]["measured"] == 2.4
    )  # findings' median, not overview's
    assert by_name["slowest page's first render at tier m"]["met"] is False
    assert by_name["trace lookup at tier m"]["measured"] == 0.25
    assert by_name["trace lookup at tier m"]["met"] is True


def test_load_sessions_over_the_websocket_protocol_idle_and_with_a_served_run(smoke):
    _, work = (
        smoke  # the smoke run's work dir: its published run is reused, and a served run publishes another
    )
    doc = bench_json(
        "--tier", "s", "--people", "100", "--repeat", "1", "--stages", "load", "--sessions", "3", "--work",
        str(work),
    )  # fmt: skip
    rows = rows_by_name(doc)
    pages = ("overview", "findings", "data_health", "checks_catalog", "audit", "trace")
    for page in pages:
        idle = rows[f"load: {page}"]
        assert not idle["error"], idle  # a page that raised is an error row, not a fast sample
        assert idle["detail"]["runs"] == 3 * 2 and 0 < idle["detail"]["p50"] <= idle["detail"]["p95"]
        assert len(idle["detail"]["titles"]) == 1 and idle["detail"]["titles"][0], idle  # the page itself ran
    during = [r for r in rows.values() if r["name"].endswith("run in progress")]
    assert during and all(not r["error"] for r in during), during  # the run at 100 people may end early
    assert rows["load: audit"]["detail"]["bench_load"]["run"]["request_state"] in (
        "done",
        "failed",
        "running (stopped after the window)",
    )
    by_name = {t["target"]: t for t in doc["targets"]}
    slowest = max(rows[f"load: {p}"]["detail"]["p95"] for p in pages)
    assert by_name["load: slowest page's p95 at tier m"]["measured"] == slowest


def test_the_load_targets_hold_the_slowest_page_p95_of_each_phase(tmp_path):
    b = bench.Bench("m", tmp_path)
    rows = [
        bench.Row(f"load: {page}{label}", "load", detail={"phase": phase, "p95": p95})
        for page, phase, label, p95 in (
            ("overview", "idle", "", 1.2),
            ("findings", "idle", "", 2.9),
            ("overview", "run", ", run in progress", 5.4),
            ("findings", "run", ", run in progress", 3.0),
        )
    ]
    by_name = {t["target"]: t for t in bench_report.summarise(b, rows)["targets"]}
    idle, run = (
        by_name["load: slowest page's p95 at tier m"],
        by_name["load: slowest page's p95 with a run, tier m"],
    )
    assert (idle["measured"], idle["met"]) == (2.9, True)
    assert (run["measured"], run["met"]) == (5.4, False)


def test_nearest_rank_percentiles():
    from closedloop.bench_load import percentile

    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 95) == 19.0 and percentile(values, 50) == 10.0 and percentile([3.0], 95) == 3.0
