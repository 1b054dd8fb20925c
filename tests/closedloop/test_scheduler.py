"""Scheduler: jobs persist in the ops store across restarts; 'run now' goes through it; a kill loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from closedloop import pipeline, scheduler, settings
from closedloop.ops import OpsStore
from closedloop.runlock import RunInProgress, RunLock
from closedloop.warehouse import Warehouse
from tests.closedloop.test_contracts import make_firm


def config(tmp_path, extra=""):
    # Schedules that cannot fire while a test runs (once a year): a job firing mid-test publishes a run of
    # its own (an ERP collection every 15 minutes did, at 11:00:00, between a kill and its check).
    cfg = make_firm(tmp_path)
    text = cfg.path.read_text() + "[schedule]\nrun = '0 4 1 1 *'\npoll_seconds = 1\n" + extra
    cfg.path.write_text(text.replace("[sources.erp]\n", "[sources.erp]\nschedule = '0 3 1 1 *'\n"))
    return settings.load(cfg.path)


def test_jobs_persist_across_restarts_and_keep_their_next_run(tmp_path):
    cfg = config(tmp_path)
    first = scheduler.build(cfg, poll=False)
    jobs = {j.id: j.next_run_time for j in first.get_jobs(jobstore="default")}
    first.shutdown(wait=False)
    assert set(jobs) == {"run", "collect:erp"}
    again = scheduler.build(cfg, poll=False)
    try:
        assert {j.id: j.next_run_time for j in again.get_jobs(jobstore="default")} == jobs
        assert scheduler.sync_jobs(again, cfg) == {"run": "kept", "collect:erp": "kept"}
        cfg.values["schedule"]["run"] = "30 2 * * *"
        cfg.sources["erp"]["schedule"] = ""
        assert scheduler.sync_jobs(again, cfg) == {"run": "replaced", "collect:erp": "removed"}
        job = again.get_job("run")
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 900)
    finally:
        again.shutdown(wait=False)
    state = scheduler.scheduler_state(cfg)
    assert [j["id"] for j in state["jobs"]] == ["run"] and state["jobs"][0]["next_run_time"].hour == 2


def test_a_bad_cron_names_the_key(tmp_path):
    cfg = config(tmp_path)
    cfg.values["schedule"]["run"] = "every day"
    with pytest.raises(settings.ConfigError, match=r"key 'schedule\.run'"):
        scheduler.build(cfg, poll=False)


def test_run_now_is_a_request_the_scheduler_runs(tmp_path):
    cfg = config(tmp_path)
    rid = scheduler.request_run_now(cfg, "ana@firm.example")
    assert scheduler.request_run_now(cfg, "bob@firm.example") == rid  # one queued whole run is enough
    with RunLock(cfg.data_dir) as lock:  # a CLI run holds the lock: the request waits, it is not lost
        lock.acquire("cli-run")
        assert scheduler.poll_requests(str(cfg.path)) == rid
        assert scheduler.scheduler_state(cfg)["requests"][0]["status"] == "pending"
        with pytest.raises(RunInProgress, match="already in progress"):
            pipeline.run(cfg, with_checks=False)
    assert scheduler.poll_requests(str(cfg.path)) == rid
    state = scheduler.scheduler_state(cfg)
    req = state["requests"][0]
    assert req["status"] == "done" and req["requested_by"] == "ana@firm.example"
    assert Warehouse.at(cfg.data_dir).published()["run_id"] == req["run_id"]
    assert state["last_runs"][0]["trigger"] == "run_now" and state["alive"]
    assert scheduler.poll_requests(str(cfg.path)) is None


def _serve(cfg_path):
    log = (cfg_path.parent / "serve.log").open("a")
    return subprocess.Popen(
        [sys.executable, "-m", "closedloop.scheduler", str(cfg_path)],
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def _wait(pred, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_killed_during_a_scheduled_run_resumes_and_loses_nothing(tmp_path):
    cfg = config(tmp_path)
    good = pipeline.run(cfg, with_checks=False)
    ops = OpsStore(cfg.ops_url)
    jobs_before = {j["id"]: j["next_run_time"] for j in scheduler.scheduler_state(cfg)["jobs"]}
    proc = _serve(cfg.path)
    try:
        assert _wait(lambda: scheduler.scheduler_state(cfg)["alive"], 30)
        scheduler.request_run_now(cfg, "ana")
        assert _wait(lambda: any(r["status"] == "running" and r["trigger"] == "run_now" for r in ops.runs(3)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    wh = Warehouse.at(cfg.data_dir)
    assert wh.published()["run_id"] == good.run_id  # the killed run never touched what the app serves
    wh.connect_published().close()
    assert scheduler.scheduler_state(cfg)["requests"][0]["status"] == "running"
    proc = _serve(cfg.path)  # restart: the interrupted request is requeued and run, the schedule resumes
    try:
        assert _wait(lambda: scheduler.scheduler_state(cfg)["requests"][0]["status"] == "done", 90)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    state = scheduler.scheduler_state(cfg)
    assert {j["id"]: j["next_run_time"] for j in state["jobs"]} == jobs_before or not jobs_before
    assert {j["id"] for j in state["jobs"]} == {"run", "collect:erp"}
    statuses = [r["status"] for r in ops.runs(5)]
    assert statuses[0] == "ok" and "killed" in statuses
    assert wh.published()["run_id"] == state["requests"][0]["run_id"]
