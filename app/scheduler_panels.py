"""The serving scheduler's news for the app: a config file that stopped parsing, the last run's outcome and retry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from app import components as ui

# status -> a symbol readable without colour (as app/health_panels.py marks runs)
MARK = {"ok": "✓", "partial": "!", "failed": "✕", "skipped": "·"}


def _utc(value: Any) -> str:
    if not isinstance(value, dt.datetime):
        return "—"
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def config_error(status: dict[str, Any] | None) -> None:
    """At the top of the page: the config file stopped parsing (which, since when, why); the last good one runs."""
    status = status or {}
    if status.get("config_error"):
        st.error(
            f"**The config file stopped parsing** · {ui.code(status.get('config_file'))} since "
            f"{_utc(status.get('config_error_since'))}: {ui.plain(status['config_error'][:600])}  \n"
            "The scheduler keeps running on the last good config until the file parses again.",
            icon=":material/error:",
        )


def scheduler_outcome(status: dict[str, Any] | None) -> None:
    """The serving scheduler's last run: which, how it ended and why, and the retry planned after a failure."""
    status = status or {}
    if not status.get("status"):
        return
    what = status["status"]
    line = (
        f"{MARK.get(what, '•')} **Last scheduler run** {ui.code(status.get('run_id'))} "
        f"({ui.plain(status.get('trigger'))}) ended **{what}** at {_utc(status.get('outcome_at'))}"
        f" in {status.get('seconds') or 0:.1f}s"
    )
    if status.get("reason"):
        line += f" · {ui.plain(status['reason'][:400])}"
    if status.get("retry"):
        line += f"  \n{ui.plain(status['retry'])}"
    if what == "ok":
        st.markdown(line)
    else:
        st.warning(line, icon=":material/warning:")


def scheduler_line(status: dict[str, Any] | None) -> str | None:
    """One line for the overview: the config is broken, or how the scheduler's last run ended; None if no news."""
    if not status:
        return None
    if status.get("config_error"):
        return (
            f":red[:material/error:] The config file stopped parsing at {_utc(status.get('config_error_since'))};"
            " the scheduler runs on the last good config."
        )
    if not status.get("status"):
        return None
    colour = {"ok": "green", "partial": "orange"}.get(status["status"], "red")
    return (
        f":{colour}[{MARK.get(status['status'], '•')}] Last scheduled run ended **{status['status']}** at "
        f"{_utc(status.get('outcome_at'))}"
        + (f" · {ui.plain(status['retry'])}" if status.get("retry") else "")
    )
