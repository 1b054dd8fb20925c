"""The benchmark's baselines find what the engine finds: every one of the ten checks, in pandas and in GX.

Two published warehouses: the golden firm of tests/checks (one defect per check among false-positive traps:
NULLs, boundaries, amended terms) and a generated tier-s demo firm loaded straight into canon (the fast path of
closedloop.demo.answer). No timing assertions: timings live in `closedloop bench`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

import pytest

from closedloop import bench_baselines
from closedloop.baselines import TEN
from closedloop.demo import answer, generate_firm
from closedloop.warehouse import Warehouse, new_run_id
from tests.checks.conftest import build_golden
from tests.checks.firm import AS_OF

METHODS = ("engine", "pandas", "gx", "scan_floor")


def publish(root: Path, fill) -> Path:
    """A published warehouse whose canon is filled by `fill(con) -> as_of`, with the meta.run row benches read."""
    wh = Warehouse.at(root)
    run_id = new_run_id()
    con = wh.create(run_id)
    as_of = fill(con)
    con.execute(
        "INSERT INTO meta.run (run_id, status, as_of, reporting_currency) VALUES (?, 'ok', ?, 'USD')",
        [run_id, as_of],
    )
    con.close()
    wh.publish(run_id)
    return wh.published_path()


def golden(con) -> object:
    build_golden(con)
    return AS_OF


def tier_s(con) -> object:
    firm = generate_firm("s", seed=11)
    answer.load_canon(firm, con)
    return answer.as_of_of(firm)


@pytest.fixture(scope="module", params=["golden", "tier_s"])
def report(request, tmp_path_factory) -> dict:
    """The bench's JSON for one warehouse, read from stdout as the harness reads it."""
    path = publish(
        tmp_path_factory.mktemp(request.param), {"golden": golden, "tier_s": tier_s}[request.param]
    )
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        bench_baselines.main([str(path), "--repeat", "1"])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the input warehouse was modified"
    return {"name": request.param, **json.loads(stdout.getvalue())}  # stdout holds the JSON and nothing else


def test_documented_shape(report):
    assert report["checks"] == list(TEN) and report["repeat"] == 1
    assert set(report["methods"]) == set(METHODS)
    for m in METHODS:
        method = report["methods"][m]
        assert method["min_seconds"] <= method["median_seconds"] <= method["max_seconds"]
        assert set(method["per_check"]) == set(TEN), m
    assert (
        set(report["ratios"])
        == set(report["cpu_ratios"])
        == {
            "engine_over_pandas",
            "engine_over_gx",
            "engine_over_scan_floor",
            "pandas_speedup",
            "gx_speedup",
        }
    )
    assert set(report["agree"]) == set(TEN) and report["peak_rss_mb"] > 0
    assert {"pandas_speedup_min", "gx_speedup_min", "scan_floor_ratio_max", "met"} <= set(report["targets"])
    assert not report["engine_errors"]


@pytest.mark.parametrize("check_id", TEN)
def test_baselines_agree_with_the_engine(report, check_id):
    a = report["agree"][check_id]
    gx = report["methods"]["gx"]
    assert a["pandas"], f"{report['name']} {check_id}: pandas differs from the engine: {a}"
    assert a["pandas_count"] == a["engine_count"]
    if gx["expressible"][check_id]:
        assert a["gx"] and a["gx_count"] == a["engine_count"] and not a["gx_errors"], a
    else:
        assert a["gx"] is None and gx["not_expressible"][check_id] and gx["fallback"][check_id] == "pandas"
    assert a["impact_rc"]["agree"], a["impact_rc"]


def test_the_golden_firm_trips_every_one_of_the_ten(report):
    """Agreement on empty sets proves little: the golden firm has a defect for each of the ten."""
    if report["name"] == "golden":
        assert all(report["agree"][c]["engine_count"] >= 1 for c in TEN)
    else:
        assert sum(report["agree"][c]["engine_count"] > 0 for c in TEN) >= 8
