"""Data health for the data team: can the checks be trusted this run, and is the next run on its way?"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import streamlit as st

from app import access_ui, trace_flow
from app import components as ui
from app import health_panels as panels
from app import queries as q
from app import queries_health as qh
from app import scheduler_panels as sp


def _when(value: Any) -> str:
    """A time as UTC text (SQLite hands back naive datetimes, which are UTC)."""
    if not isinstance(value, dt.datetime):
        return "—"
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _cron(job: dict[str, Any], state: dict[str, Any]) -> str:
    """The job's cron as configured (5 fields), rather than APScheduler's trigger repr."""
    return (state.get("configured") or {}).get(job["id"]) or str(job["trigger"])


def _request() -> None:
    """Run-now callback: queue the request before the rerun draws, so the page shows it pending."""
    who = access_ui.principal()
    if not access_ui.allowed(who, "run_request"):
        return
    st.session_state["run_request_id"] = qh.request_run(who.actor)
    access_ui.record("run_request", f"request #{st.session_state['run_request_id']}", who=who)


def scheduler(state: dict[str, Any]) -> None:
    """The serving scheduler: jobs and next runs, heartbeat, run-now requests, and the admin's Run now button."""
    st.subheader("Scheduler")
    if "error" in state:
        st.error(f"Could not read the scheduler's state: {state['error']}", icon=":material/error:")
        return
    beat = state.get("heartbeat") or {}
    sp.scheduler_outcome(state.get("status"))
    left, right = st.columns([3, 2])
    with left:
        if state.get("alive"):
            st.markdown(
                f":green[:material/favorite:] **Scheduler running** · last heartbeat {_when(beat.get('beat_at'))}"
                f" · {ui.plain(beat.get('host') or '')} pid {beat.get('pid') or '—'}"
            )
        elif beat:
            st.markdown(
                f":orange[:material/heart_broken:] **Scheduler not running** · last heartbeat {_when(beat.get('beat_at'))}"
            )
        else:
            st.markdown(
                ":gray[:material/schedule:] **No scheduler has run yet** · `closedloop serve` starts one"
            )
        jobs = state.get("jobs") or []
        if jobs:
            ui.table(
                pl.DataFrame(
                    [
                        {
                            "job": j["id"],
                            "schedule": _cron(j, state),
                            "sources": ", ".join(j["sources"]) if j.get("sources") else "all",
                            "next run": _when(j.get("next_run_time")),
                        }
                        for j in jobs
                    ]
                )
            )
        elif state.get("configured"):
            cron = ", ".join(f"{k} `{v}`" for k, v in state["configured"].items())
            st.caption(f"Configured, not yet scheduled (starts with `closedloop serve`): {cron}")
        else:
            st.caption("No schedule configured: `[schedule] run` sets the cron of the whole run.")
    with right:
        _run_now(state)
    reqs = state.get("requests") or []
    if reqs:
        st.markdown("**Run-now requests**")
        ui.table(
            pl.DataFrame(
                [
                    {
                        "id": r["id"],
                        "status": f"{panels.MARK.get(r['status'], '•')} {r['status']}",
                        "requested": _when(r.get("requested_at")),
                        "by": r.get("requested_by"),
                        "run": r.get("run_id"),
                        "note": r.get("note"),
                    }
                    for r in reqs
                ],
                schema={c: pl.String for c in ("id", "status", "requested", "by", "run", "note")},
                strict=False,
            ),
            max_height=240,
        )


def _run_now(state: dict[str, Any]) -> None:
    """The Run now button for admins (a lock for everyone else) and the pending request, if any."""
    pending = [r for r in state.get("requests") or [] if r["status"] in ("pending", "running")]
    with st.container(border=True):
        if who.can("run_request"):
            st.button(
                "Run now",
                key="run_now",
                icon=":material/play_arrow:",
                type="primary",
                on_click=_request,
                disabled=bool(pending),
                help="Queues a whole run; the scheduler under `closedloop serve` picks it up. The app never runs it.",
            )
        else:
            st.markdown(":gray[:material/lock:] **Run now** is for admins.")
        if pending:
            r = pending[0]
            st.info(
                f"Run request #{r['id']} is **{r['status']}** (by {ui.plain(r.get('requested_by'))}, "
                f"{_when(r.get('requested_at'))}).",
                icon=":material/hourglass_top:",
            )
            if not state.get("alive"):
                st.caption("No scheduler is running: it waits until `closedloop serve` starts one.")
        st.caption("Run now is for the admin role ([access] in closedloop.toml gives roles).")


who = access_ui.gate("data_health")
run = q.published()
ui.header("Data health", "Sources, data contracts, monitors, runs and the schedule", run)
sched_state = qh.scheduler()
sp.config_error(sched_state.get("status"))
if run is None:
    ui.no_run()
    scheduler(sched_state)
    st.stop()

h = qh.health(run.path)
streams = qh.contract_streams(run.path, run.run_id)
mons = qh.monitors(run.path, run.run_id)
failed = qh.failed_sources(run.path, run.run_id)
blamed = tuple(failed["source"].unique(maintain_order=True).to_list()) if not failed.is_empty() else ()
suppressed = qh.suppressed_checks(run.path, run.run_id, blamed)

ledger = qh.run_ledger(run.ops_url)
panels.latest_attempt(ledger, run.run_id)
panels.tiles(streams, mons, failed, suppressed)
panels.failures(failed, suppressed)
trace_flow.broken_flows_note(run, who, link=True)  # integration events still failing / dead-lettered
panels.coverage(qh.coverage(run.path, run.run_id))
panels.sources(h, failed)
panels.contracts(streams, qh.contract_failures(run.path, run.run_id))
panels.monitors(mons)
panels.timeline(h, ledger)
scheduler(sched_state)
