"""The audit log for admins: who signed in, opened, exported, was refused and acted, with filters."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from app import access_ui
from app import components as ui
from app import queries as q
from closedloop import audit as auditmod
from closedloop.csvsafe import to_csv


def _exported(detail: dict) -> None:
    """The download's on_click: only a person who opens this page (admins) exports it; anyone else is refused."""
    now = access_ui.principal()
    if now.can_see("audit"):
        access_ui.record("export", "audit log", detail, now)
    else:
        access_ui.record("denied", "export audit log", {"why": "page not allowed for role"}, now)


who = access_ui.gate("audit")
run = q.published()
ui.header(
    "Audit log",
    "Sign-ins, views of cases and traces, exports, refusals, workflow actions and run requests",
    run,
)

ops_url = q.config().ops_url  # the audit needs no published run
c1, c2, c3 = st.columns([1, 2, 3])
days = c1.number_input("Last days", min_value=1, max_value=3650, value=7, step=1)
user = c2.text_input("User (e-mail or name)", placeholder="everyone").strip()
events = c3.multiselect(
    "Events",
    [*auditmod.EVENTS, auditmod.WORKFLOW],
    placeholder="all events",
    format_func=lambda e: e.replace("_", " "),
)
since = dt.datetime.now(dt.UTC) - dt.timedelta(days=int(days))
rows = access_ui.audit_log(ops_url).read(since=since, user=user or None, events=events, limit=5000)
if not rows:
    ui.empty("No audit events match these filters.", "Widen the period or clear the user and event filters.")
    st.stop()
frame = pl.DataFrame(rows, schema_overrides={"detail": pl.Utf8, "subject": pl.Utf8, "roles": pl.Utf8})
st.caption(
    f"{frame.height:,} events since {since:%Y-%m-%d %H:%M} UTC, newest first"
    + (" (the first 5,000)" if frame.height >= 5000 else "")
)
st.dataframe(
    frame,
    hide_index=True,
    use_container_width=True,
    column_config={
        "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "actor": "Who",
        "roles": "Roles",
        "event": "Event",
        "subject": "What",
        "detail": "Detail",
    },
)

st.download_button(
    "Download CSV",
    to_csv(frame.columns, frame.rows()),
    file_name=f"closedloop-audit-{dt.datetime.now(dt.UTC):%Y%m%d}.csv",
    mime="text/csv",
    icon=":material/download:",
    key="export_audit",
    on_click=_exported,
    args=({"days": int(days), "user": user, "events": events, "rows": frame.height},),
)
