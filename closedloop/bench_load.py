"""Benchmark body for the load stage: N concurrent sessions of the app, each page's script-run time, p50/p95.

Run as `python -m closedloop.bench_load CONFIG [--sessions N] ...`; prints JSON. It starts a real `streamlit run`
of the app on a free 127.0.0.1 port over the config's published warehouse (in local mode, as the pages stage
does: no sign-in), then opens N sessions the way the browser's frontend does, over /_stcore/stream: binary
BackMsg protobufs up (rerun_script with the page's name and query string), ForwardMsg protobufs down. A sample
is one page's script run as the server reports it: from the rerun request sent to its script_finished message.

Two phases: `idle` (the app alone) and `run` (the same sessions while `closedloop serve --no-app` executes a
'run now' request on the same data dir, so the run is launched exactly as serve launches it: lower priority and
the served DuckDB limits, closedloop/runlimits.py). Only samples that ended while the run was still going count
for the second phase; after --run-window seconds a run still going is stopped with serve (a stopped run is
never published: the last good one stays).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from closedloop import appserver, settings
from closedloop.bench_pages import _port, _sample_ids

# page name (its url_path in app/streamlit_app.py) -> query string of a typical visit
PAGES = {
    "overview": "",
    "findings": "",
    "data_health": "",
    "checks_catalog": "",
    "audit": "",
    "trace": "id={id}",
}
TIMEOUT = 300.0  # one script run, at worst: a hung page is a failed sample, not a hung benchmark


@dataclass
class Sample:
    page: str
    seconds: float
    ended_at: float
    error: str | None = None
    title: str | None = None  # the page's h1: proof the page itself ran, not a refusal or a blank
    elements: int = 0


@dataclass
class Session:
    """One browser tab's worth of protocol: a websocket, its rerun requests, their script runs."""

    url: str
    samples: list[Sample] = field(default_factory=list)

    async def visit(self, ws, page: str, query: str) -> Sample:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        # what the frontend sends on navigation: the page's url_path and the URL's query, no widget states yet
        msg = BackMsg(rerun_script=ClientState(query_string=query, page_name=page, page_script_hash=""))
        t0 = time.perf_counter()
        await ws.send(msg.SerializeToString())
        error, title, elements = None, None, 0
        while True:
            raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                el = fwd.delta.new_element
                elements += 1
                if el.WhichOneof("type") == "heading" and title is None and el.heading.tag == "h1":
                    title = el.heading.body
                if el.WhichOneof("type") == "exception" and error is None:
                    error = f"{el.exception.type}: {el.exception.message}"[:300]
            elif kind == "page_not_found":
                error = f"page not found: {page}"
            elif kind == "script_finished":
                status = fwd.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # '/'-style redirects: the run it switched to follows on the same request
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    error = error or "compile error"
                now = time.perf_counter()
                return Sample(page, now - t0, now, error, title, elements)


async def _session(
    url: str, pages: list[tuple[str, str]], rounds: int, think: tuple[float, float], until, rng: random.Random
) -> list[Sample]:
    import websockets

    s = Session(url)
    async with websockets.connect(
        url, subprotocols=["streamlit"], max_size=None, open_timeout=60, ping_interval=None
    ) as ws:
        order = pages[:]
        rng.shuffle(order)  # sessions do not all open the same page at the same moment
        for _ in range(rounds):
            for page, query in order:
                if until is not None and until():
                    return s.samples
                s.samples.append(await s.visit(ws, page, query))
                await asyncio.sleep(rng.uniform(*think))
    return s.samples


async def _phase(url, pages, sessions, rounds, think, until=None, seed=0) -> list[Sample]:
    rng = random.Random(seed)
    tasks = []
    for _ in range(sessions):
        tasks.append(_session(url, pages, rounds, think, until, random.Random(rng.random())))
        await asyncio.sleep(rng.uniform(0, 0.05))  # people arrive, not in one instant
    done = await asyncio.gather(*(asyncio.ensure_future(t) for t in tasks), return_exceptions=True)
    out: list[Sample] = []
    for d in done:
        if isinstance(d, BaseException):
            out.append(Sample("(session)", 0.0, time.perf_counter(), f"{type(d).__name__}: {d}"[:300]))
        else:
            out.extend(d)
    return out


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    vals = sorted(values)
    k = max(0, min(len(vals) - 1, math.ceil(p / 100 * len(vals)) - 1))
    return vals[k]


def summary(samples: list[Sample]) -> dict:
    """Per page: runs, p50, p95, max (seconds) and errors; and the same over every page."""
    out: dict = {}
    by: dict[str, list[Sample]] = {}
    for s in samples:
        by.setdefault(s.page, []).append(s)
    for page, ss in sorted(by.items()):
        ok = [s.seconds for s in ss if s.error is None]
        errors = sorted({s.error for s in ss if s.error})
        out[page] = {
            "runs": len(ss),
            "errors": len(ss) - len(ok),
            "error_kinds": errors[:3],
            "titles": sorted({s.title or "" for s in ss})[:3],
            "elements_median": statistics.median(s.elements for s in ss),
        }
        if ok:
            out[page] |= {
                "min": round(min(ok), 3),
                "p50": round(statistics.median(ok), 3),
                "p95": round(percentile(ok, 95), 3),
                "max": round(max(ok), 3),
            }
    return out


def _wait_healthy(base: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the app did not answer on {base}/_stcore/health within 60 s")


def _running_request(cfg: settings.Config, since: dt.datetime) -> int | None:
    """The run-now request serve took since `since` and is executing, if any (a request a stopped serve left
    'running' is requeued, and may be taken before ours)."""
    import sqlalchemy as sa

    from closedloop.ops import OpsStore, run_request

    with OpsStore(cfg.ops_url).engine.connect() as conn:
        rows = conn.execute(
            sa.select(run_request.c.id, run_request.c.taken_at).where(run_request.c.status == "running")
        ).all()
    for rid, taken in rows:
        taken = taken.replace(tzinfo=dt.UTC) if taken and taken.tzinfo is None else taken
        if taken and taken >= since:
            return rid
    return None


def _request_state(cfg: settings.Config, request_id: int) -> str | None:
    import sqlalchemy as sa

    from closedloop.ops import OpsStore, run_request

    with OpsStore(cfg.ops_url).engine.connect() as conn:
        row = conn.execute(sa.select(run_request.c.status).where(run_request.c.id == request_id)).first()
    return row[0] if row else None


class ServedRun:
    """`closedloop serve --no-app` on the config and one 'run now' request: the run as serve executes it."""

    def __init__(self, cfg: settings.Config):
        self.cfg = cfg
        self.proc: subprocess.Popen | None = None
        self.request_id: int | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.state: str | None = None

    def start(self, timeout: float = 120.0) -> None:
        from closedloop import scheduler

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "closedloop.cli", "serve", "--no-app", "--config", str(self.cfg.path)],
            cwd=appserver.ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        scheduler.request_run_now(self.cfg, "bench-load")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.request_id = _running_request(self.cfg, since)
            if self.request_id is not None:
                self.state, self.started_at = "running", time.perf_counter()
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"closedloop serve exited with code {self.proc.returncode} before the run")
            time.sleep(0.25)
        raise RuntimeError(f"serve did not take the run-now request within {timeout:.0f} s")

    def running(self) -> bool:
        if self.ended_at is not None:
            return False
        self.state = _request_state(self.cfg, self.request_id) if self.request_id else None
        if self.state != "running":
            self.ended_at = time.perf_counter()
            return False
        return True

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def _watch(run: ServedRun, every: float = 0.5) -> None:
    while await asyncio.to_thread(run.running):
        await asyncio.sleep(every)


async def _with_run(url, pages, sessions, think, run: ServedRun, seed, window: float) -> list[Sample]:
    watcher = asyncio.ensure_future(_watch(run))
    stop_at = time.perf_counter() + window
    samples = await _phase(
        url,
        pages,
        sessions,
        10_000,
        think,
        until=lambda: watcher.done() or time.perf_counter() > stop_at,
        seed=seed,
    )
    end = run.ended_at or time.perf_counter()
    watcher.cancel()
    return [s for s in samples if s.ended_at <= end]  # only script runs that finished while the run went on


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2, help="visits of every page per session (idle phase)")
    ap.add_argument("--think", default="1,3", help="seconds a person reads a page before the next: MIN,MAX")
    ap.add_argument("--phases", default="idle,run", help="idle, run or both")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--run-window",
        type=float,
        default=120.0,
        help="seconds of sessions while the run goes on; a run still going then is stopped (never published)",
    )
    a = ap.parse_args(argv)
    think = tuple(float(x) for x in a.think.split(","))
    if len(think) != 2 or think[0] < 0 or think[1] < think[0]:
        raise SystemExit(f"--think takes MIN,MAX seconds, not {a.think!r}")
    phases = [p for p in a.phases.split(",") if p]
    if not phases or set(phases) - {"idle", "run"}:
        raise SystemExit(f"--phases takes idle and/or run, not {a.phases!r}")

    cfg = settings.load(a.config)
    port = _port()
    env = {**os.environ, settings.ENV_CONFIG: str(cfg.path)}
    env.pop("CLOSEDLOOP_APP_USER", None)
    server = subprocess.Popen(
        appserver.command(port),
        cwd=appserver.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/_stcore/stream"
    out: dict = {"sessions": a.sessions, "think_seconds": list(think), "pages": list(PAGES)}
    try:
        _wait_healthy(base)
        ids = _sample_ids(cfg)
        trace_id = ids[0] if ids else "CID-0001"
        pages = [
            (p, q.format(id=urllib.parse.quote(trace_id))) for p, q in PAGES.items()
        ]  # one visit of each page first: the server's imports and the run's cold caches are not a session's
        t0 = time.perf_counter()
        warm = asyncio.run(_phase(url, pages, 1, 1, (0.0, 0.0), seed=a.seed))
        out["warm_up"] = {"seconds": round(time.perf_counter() - t0, 3), "pages": summary(warm)}
        if "idle" in phases:
            t0 = time.perf_counter()
            samples = asyncio.run(_phase(url, pages, a.sessions, a.rounds, think, seed=a.seed))
            out["idle"] = {"seconds": round(time.perf_counter() - t0, 3), "pages": summary(samples)}
        if "run" in phases:
            run = ServedRun(cfg)
            measured, state, samples = 0.0, None, []
            try:
                run.start()
                samples = asyncio.run(_with_run(url, pages, a.sessions, think, run, a.seed + 1, a.run_window))
                measured = (run.ended_at or time.perf_counter()) - (run.started_at or 0)
                state = run.state if run.ended_at else "running (stopped after the window)"
            except Exception as exc:  # the idle phase's figures still stand
                out["run"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            else:
                out["run"] = {
                    "seconds": round(measured, 3),
                    "request_state": state,
                    "pages": summary(samples),
                }
            finally:
                run.stop()
        return out
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    print(json.dumps(main()))
