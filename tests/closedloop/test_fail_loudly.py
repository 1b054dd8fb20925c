"""Fail loudly, once (issue 18): every failed or partial run is in the ledger with its reason and alerts once,
with a recovery alert after; a failed scheduled run is retried with bounded backoff."""

from __future__ import annotations

import itertools
import json
import time

from closedloop import pipeline, scheduler, serving, settings
from closedloop.ops import OpsStore
from tests.closedloop.test_alerts import SECRET, hook  # noqa: F401 - the fixture: a webhook receiver
from tests.closedloop.test_contracts import DEALS, make_firm

BROKEN = DEALS + "D2,A3,open,5.00,2026-01-01,2026-01-02\n"  # a duplicate key: crm fails its contract
ALERTS = "[alerts]\nwebhooks = [{name = 'ops', format = 'json'}]\nretries = 1\nbackoff_seconds = 0.01\n"


def firm(tmp_path, monkeypatch, hook, schedule="", **kw):  # noqa: F811
    monkeypatch.setenv("CLOSEDLOOP_ALERTS_OPS_URL", hook.url)
    return make_firm(tmp_path, extra=ALERTS + schedule, **kw)


def wait(pred, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_a_run_failing_with_every_source_ok_is_failed_with_its_reason_and_alerts_once(
    tmp_path,
    monkeypatch,
    hook,  # noqa: F811
):
    hook.start()
    cfg = firm(tmp_path, monkeypatch, hook)
    ops = OpsStore(cfg.ops_url)

    def out_of_memory(*_a, **_k):
        raise MemoryError("out of memory building canon.invoice")

    with monkeypatch.context() as m:
        m.setattr(pipeline, "build_canon", out_of_memory)
        first = pipeline.run(cfg, with_checks=False)
        assert first.status == "failed" and first.sources and all(s.status == "ok" for s in first.sources)
        row = ops.runs(1)[0]
        assert row["run_id"] == first.run_id and row["status"] == "failed" and not row["published"]
        assert json.loads(row["errors"]) == ["MemoryError: out of memory building canon.invoice"]
        assert first.alerts == {"items": 1, "delivered": ["ops"], "failed": []}
        (item,) = hook.bodies[0]["items"]
        assert item["kind"] == "run_failed" and "MemoryError: out of memory" in item["text"]
        again = pipeline.run(cfg, with_checks=False)  # the same failure on the next run: not news
        assert again.status == "failed" and again.alerts["items"] == 0 and len(hook.bodies) == 1
    ok = pipeline.run(cfg, with_checks=False)
    assert ok.status == "ok" and ok.alerts["delivered"] == ["ops"]
    (item,) = hook.bodies[1]["items"]
    assert item["kind"] == "run_recovered" and ok.run_id in item["text"]
    assert pipeline.run(cfg, with_checks=False).alerts["items"] == 0  # recovered once, then quiet
    assert len(hook.bodies) == 2


def test_a_run_whose_warehouse_cannot_even_be_created_is_in_the_ledger(tmp_path, monkeypatch, hook):  # noqa: F811
    hook.start()
    cfg = firm(tmp_path, monkeypatch, hook)

    def no_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline.Warehouse, "create", no_disk)
    report = pipeline.run(cfg, with_checks=False)
    row = OpsStore(cfg.ops_url).runs(1)[0]
    assert (row["status"], report.status) == ("failed", "failed")  # not left 'running'
    assert "No space left on device" in row["errors"] and hook.bodies[0]["items"][0]["kind"] == "run_failed"


def test_backoff_doubles_and_is_bounded():
    assert [scheduler.retry_delay(60, n) for n in range(3)] == [60, 120, 240]
    assert scheduler.retry_delay(60, 30) == scheduler.RETRY_CAP_SECONDS == 6 * 3600


def test_a_failed_scheduled_run_is_retried_with_backoff_and_alerts_once(tmp_path, monkeypatch, hook):  # noqa: F811
    hook.start()
    sched = "[schedule]\nrun = '0 4 1 1 *'\npoll_seconds = 1\nretry_attempts = 2\nretry_base_seconds = 0.5\n"
    cfg = firm(tmp_path, monkeypatch, hook, schedule=sched, deals=BROKEN)
    ops = OpsStore(cfg.ops_url)
    running = scheduler.start(cfg)
    try:
        scheduler.scheduled_run(str(cfg.path), None)  # the cron job, as APScheduler calls it
        note = scheduler.scheduler_state(cfg)["status"]["retry"]
        assert note.startswith("retry 1/2 at ")
        assert wait(
            lambda: (
                (scheduler.scheduler_state(cfg)["status"] or {}).get("retry") == "gave up after 2 retries"
            ),
            240,
        )
    finally:
        running.shutdown(wait=True)
        serving.attach(None)
    runs = sorted(ops.runs(10), key=lambda r: r["started_at"])
    assert [(r["trigger"], r["status"]) for r in runs] == [
        ("schedule", "partial"),
        ("retry", "partial"),
        ("retry", "partial"),
    ]
    gaps = [(b["started_at"] - a["finished_at"]).total_seconds() for a, b in itertools.pairwise(runs)]
    assert gaps[0] >= 0.4 and gaps[1] >= 0.9  # 0.5 s, then 1 s: doubled
    assert len(hook.bodies) == 1  # three failures, one alert
    status = scheduler.scheduler_state(cfg)["status"]
    assert status["run_id"] == runs[-1]["run_id"] and status["status"] == "partial"
    assert "crm" in status["reason"] and status["trigger"] == "retry"
    settings.load(cfg.path)  # the test left the config as it found it
