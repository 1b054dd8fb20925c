"""`closedloop serve` as an operator runs it: a config typo made underneath it, one log line per run outcome,
alerts to a real local webhook, and destinations and cron validated before anything starts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from closedloop import scheduler
from closedloop.ops import OpsStore
from tests.closedloop.test_alerts import SECRET, hook  # noqa: F401 - the fixture: a webhook receiver
from tests.closedloop.test_contracts import make_firm
from tests.closedloop.test_fail_loudly import ALERTS, BROKEN, wait

SCHEDULE = "[schedule]\nrun = '0 4 1 1 *'\npoll_seconds = 1\nretry_attempts = 0\n"


def serve(path, env, log):
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "closedloop.cli", "serve", "--no-app", "--config", str(path)],
            stdout=out,
            stderr=out,
            env={**os.environ, **env, "PYTHONPATH": os.pathsep.join(sys.path)},
            start_new_session=True,
        )


def kinds(hook):  # noqa: F811
    return [i["kind"] for b in hook.bodies for i in b["items"]]


def done(cfg, rid):
    return (
        next((r for r in scheduler.scheduler_state(cfg)["requests"] if r["id"] == rid), {}).get("status")
        == "done"
    )


def test_a_config_typo_under_serve_alerts_once_and_runs_on_the_last_good_config(tmp_path, hook):  # noqa: F811
    hook.start()
    cfg = make_firm(tmp_path, extra=ALERTS + SCHEDULE)
    path, good = cfg.path, cfg.path.read_text()
    log = tmp_path / "serve.log"
    proc = serve(path, {"CLOSEDLOOP_ALERTS_OPS_URL": hook.url}, log)
    ops = OpsStore(cfg.ops_url)
    try:
        assert wait(lambda: scheduler.scheduler_state(cfg)["alive"], 60), log.read_text()
        first = scheduler.request_run_now(cfg, "ana")
        assert wait(lambda: done(cfg, first), 120), log.read_text()

        path.write_text(good + "[schedule\n")  # a typo, saved while serve runs
        assert wait(lambda: "config_error" in kinds(hook), 90), log.read_text()
        status = scheduler.scheduler_state(cfg)["status"]
        assert status["config_file"] == str(path) and "not valid TOML" in status["config_error"]
        assert status["config_error_since"] is not None
        second = scheduler.request_run_now(cfg, "ana")  # still scheduling, on the last good config
        assert wait(lambda: done(cfg, second), 120), log.read_text()
        time.sleep(4)  # four more polls of the broken file
        assert kinds(hook).count("config_error") == 1  # alerted once
        assert ops.runs(1)[0]["status"] == "ok"

        path.write_text(good)  # mended
        assert wait(lambda: "config_recovered" in kinds(hook), 90), log.read_text()
        assert scheduler.scheduler_state(cfg)["status"]["config_error"] is None

        (tmp_path / "crm" / "deals.csv").write_text(BROKEN)  # a run-now that ends partial alerts too
        third = scheduler.request_run_now(cfg, "ana")
        assert wait(lambda: done(cfg, third), 120), log.read_text()
        assert wait(lambda: "run_partial" in kinds(hook), 90)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    text = log.read_text()
    assert "Traceback" not in text and SECRET not in text and "great_expectations" not in text
    assert "maximum number of running instances" not in text  # the poll job busy with a run is not news
    assert (
        len(
            re.findall(
                r"WARNING closedloop\.scheduler: config stopped parsing, keeping the last good config: /",
                text,
            )
        )
        == 1
    )
    runs = {r["run_id"]: r["status"] for r in ops.runs(10)}
    assert len(runs) == 3
    for run_id, status in runs.items():  # one line per run outcome, at the level its status deserves
        lines = [
            line for line in text.splitlines() if f"run {run_id} " in line and "(trigger run_now)" in line
        ]
        level = "INFO" if status == "ok" else "WARNING"
        assert len(lines) == 1 and f" {level} " in lines[0] and f"{run_id} {status} " in lines[0], lines
    assert "source(s) failed: crm" in text or "crm" in next(ln for ln in text.splitlines() if "partial" in ln)


@pytest.mark.parametrize(
    ("extra", "env", "message"),
    [
        (ALERTS, {}, r"key 'alerts\.webhooks'\[0\]: no URL: set CLOSEDLOOP_ALERTS_OPS_URL"),
        (ALERTS, {"CLOSEDLOOP_ALERTS_OPS_URL": "hooks.example/T0/B0/" + SECRET}, r"not an http\(s\) URL"),
        (
            "[schedule]\nrun = '*/5 * * *'\n",
            {},
            r"key 'schedule\.run': '\*/5 \* \* \*' is not a 5-field cron",
        ),
        ("[schedule]\nretry_attempts = -1\n", {}, r"'schedule\.retry_attempts'"),
    ],
)
def test_serve_refuses_a_bad_destination_or_cron_at_start(tmp_path, extra, env, message):
    cfg = make_firm(tmp_path, extra=extra)
    env = {"CLOSEDLOOP_ALERTS_OPS_URL": "", **env}
    res = subprocess.run(
        [sys.executable, "-m", "closedloop.cli", "serve", "--no-app", "--config", str(cfg.path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    said = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, said
    assert str(cfg.path) in said and re.search(message, said), said
    assert SECRET not in said


def test_a_cli_run_that_fails_is_in_the_ledger_and_alerts_once(tmp_path, hook):  # noqa: F811
    hook.start()
    cfg = make_firm(tmp_path, extra=ALERTS, deals=BROKEN)
    env = {**os.environ, "CLOSEDLOOP_ALERTS_OPS_URL": hook.url, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "closedloop.cli", "run", "--config", str(cfg.path)]
    for _ in range(2):
        res = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        assert res.returncode == 1, res.stdout + res.stderr
    runs = OpsStore(cfg.ops_url).runs(5)
    assert [r["status"] for r in runs] == ["partial", "partial"] and all("crm" in r["errors"] for r in runs)
    (body,) = hook.bodies  # once: the second run's same failure is not news
    assert [i["kind"] for i in body["items"]][:2] == ["run_partial", "source_failed"]
