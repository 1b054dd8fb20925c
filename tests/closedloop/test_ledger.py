"""The run ledger tells the truth after a SIGKILL at every step of a publish, and retention never pulls a file
from under a reader. Real processes, killed for real; the data directory holds an apostrophe throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from closedloop import pipeline, settings
from closedloop.ops import OpsStore
from closedloop.runlock import RunLock
from closedloop.warehouse import Warehouse
from tests.closedloop.test_pipeline import make_firm

# Runs itself in a child process: patch one publish step to SIGKILL the process there, then run.
KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from closedloop import ops, pipeline, settings, warehouse

    config, step = sys.argv[1], sys.argv[2]
    real_replace = os.replace

    def die(*_a, **_k):
        os.kill(os.getpid(), signal.SIGKILL)

    def replace(src, dst):
        if step == "before_rename" and str(src).endswith(".tmp"):
            die()
        real_replace(src, dst)
        if step == "after_rename" and str(src).endswith(".tmp"):
            die()

    warehouse.os.replace = replace
    if step == "before_publish":
        warehouse.Warehouse.publish = die
    if step == "before_prune":
        warehouse.Warehouse.prune = die
    if step == "before_ledger":
        ops.OpsStore.run_finished = die
    if step == "canonical":
        pipeline.build_canon = die
    pipeline.run(settings.load(config), with_checks=False)
    """
)

# step -> whether the killed run is the published one afterwards
STEPS = {
    "canonical": False,
    "before_publish": False,
    "before_rename": False,
    "after_rename": True,
    "before_prune": True,
    "before_ledger": True,
}


@pytest.fixture
def firm(tmp_path, monkeypatch):
    home = tmp_path / "firm & co"
    home.mkdir()
    monkeypatch.chdir(home)  # make_firm's mapping path is relative
    cfg = make_firm(home)
    text = cfg.path.read_text().replace("[closedloop]\n", "[closedloop]\ndata_dir = \"data 'live'\"\n")
    text += "[warehouse]\nretention_runs = 0\n"
    cfg.path.write_text(text)
    return settings.load(cfg.path)


def kill_at(cfg, step: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(cfg.path), step],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        cwd=cfg.path.parent,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]


def ledger(cfg) -> dict[str, dict]:
    return {r["run_id"]: r for r in OpsStore(cfg.ops_url).runs(100)}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_kill_at_every_publish_step_leaves_a_truthful_ledger(firm, step):
    wh = Warehouse.at(firm.data_dir)
    assert "'" in str(firm.data_dir)
    first = pipeline.run(firm, with_checks=False)
    assert first.status == "ok" and first.published
    before = set(ledger(firm))
    kill_at(firm, step)
    (killed_id,) = set(ledger(firm)) - before
    published = STEPS[step]
    current = wh.published()["run_id"]
    assert current == (killed_id if published else first.run_id)

    # read at once, with no next run: the status comes from the pointer and the dead run's lock
    row = ledger(firm)[killed_id]
    if published:
        assert (row["status"], row["published"]) == ("ok", True)
        assert row["rows"] == first.rows and row["finished_at"] is not None
    else:
        assert (row["status"], row["published"]) == ("killed", False)
        assert json.loads(row["errors"]) == ["process ended before the run finished"]
    if step == "before_rename":
        assert list(wh.root.glob(".current.json.*.tmp")), "the kill should leave its temp pointer"

    # the next run starts clean: temp pointers and the killed run's file are gone, not counted in retention
    nxt = pipeline.run(firm, with_checks=False)
    assert nxt.status == "ok" and nxt.published
    assert not list(wh.root.glob(".current.json.*.tmp"))
    files = {f.name for f in wh.runs_dir.glob("*.duckdb")}
    # retention 0 keeps the published run and the one it replaced, which a reader may be opening
    assert files == {f"{nxt.run_id}.duckdb", f"{current}.duckdb"}
    rows = ledger(firm)
    assert [r for r in rows.values() if r["published"]] == [
        r
        for r in rows.values()
        if r["run_id"] in (first.run_id, nxt.run_id) or (published and r["run_id"] == killed_id)
    ]
    assert rows[first.run_id]["status"] == "ok" and rows[nxt.run_id]["status"] == "ok"
    assert not [r for r in rows.values() if r["status"] == "running"]


def test_a_running_run_is_not_called_killed_while_it_holds_the_lock(firm):
    ops = OpsStore(firm.ops_url)
    wh = Warehouse.at(firm.data_dir)
    lock = RunLock(firm.data_dir)
    lock.acquire("20990101T000000000Z-live")
    try:
        ops.run_started(
            "20990101T000000000Z-live",
            trigger="cli",
            warehouse_file=str(wh.run_path("20990101T000000000Z-live")),
        )
        assert ledger(firm)["20990101T000000000Z-live"]["status"] == "running"
    finally:
        lock.release()  # released without writing its ledger row: as good as killed
    assert ledger(firm)["20990101T000000000Z-live"]["status"] == "killed"


def test_readers_never_open_a_deleted_file_with_retention_zero(firm):
    wh = Warehouse.at(firm.data_dir)
    pipeline.run(firm, with_checks=False)
    errors: list[str] = []
    reads = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                con = wh.connect_published()
                con.execute("SELECT count(*) FROM canon.client").fetchone()
                con.close()
                reads += 1
            except Exception as exc:  # any failure is what this test counts
                errors.append(f"{type(exc).__name__}: {exc}")

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for _ in range(4):
            assert pipeline.run(firm, with_checks=False).published
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert reads > 20 and errors == []
    assert len(list(wh.runs_dir.glob("*.duckdb"))) == 2


def test_a_data_dir_with_an_apostrophe_works_run_after_run(firm):
    assert "'" in str(firm.data_dir)
    firm.values["warehouse"]["retention_runs"] = 1
    runs = [pipeline.run(firm) for _ in range(3)]  # checks too: they attach the previous run as well
    assert [(r.status, r.published) for r in runs] == [("ok", True)] * 3, [r.errors for r in runs]
    con = Warehouse.at(firm.data_dir).connect_published()
    assert con.execute("SELECT count(*) FROM meta.run_history").fetchone()[0] == 3
    con.close()


@pytest.mark.parametrize(
    "name,content,where",
    [
        ("accounts.csv", b"id,name,country\nA1,Acme,US\nA2,Gl\xe9bex,DE\n", "file accounts.csv, row 2"),
        (
            "accounts.jsonl",
            b'{"id": "A1"}\n{"id": "A2", "name": "Gl\xe9bex"}\n',
            "file accounts.jsonl, row 2",
        ),
    ],
)
def test_invalid_utf8_in_an_export_names_source_stream_file_and_row(firm, name, content, where):
    home = firm.path.parent
    (home / "crm" / "accounts.csv").unlink()
    (home / "crm" / name).write_bytes(content)
    firm.sources["crm"]["streams"] = {"accounts": "accounts.*"}
    report = pipeline.run(firm, with_checks=False)
    assert report.status != "ok" and not report.published
    (error,) = [e for e in report.errors if "UTF-8" in e]
    assert f"source crm, stream accounts, {where}: not UTF-8 text at line " in error
    assert "(bytes e9)" in error
