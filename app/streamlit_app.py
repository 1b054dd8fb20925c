"""closedloop's app: the router only; pages live in app/views, queries in app/queries.py.

Not app/pages: Streamlit would also register that folder as a legacy multipage app, and a cold deep
link (/data_health before anyone opened /) would render without the router.
"""

from __future__ import annotations

import streamlit as st

from app import auth, prewarm, queries
from app import components as ui

st.set_page_config(page_title="closedloop", page_icon="🔁", layout="wide", initial_sidebar_state="expanded")

pages = {
    "Monitor": [
        st.Page("views/overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page("views/findings.py", title="Findings", icon=":material/fact_check:"),
        st.Page("views/trace.py", title="Trace", icon=":material/timeline:"),
    ],
    "Trust": [
        st.Page("views/data_health.py", title="Data health", icon=":material/health_and_safety:"),
        st.Page("views/checks_catalog.py", title="Checks catalog", icon=":material/rule:"),
    ],
}
page = st.navigation(pages)

with st.sidebar:
    st.markdown("### :material/all_inclusive: closedloop")
    st.caption("Quote-to-cash, reconciled.")
    run = queries.published()
    if run is None:
        st.caption("No published run yet")
    else:
        info = queries.run_info(run.path)
        st.caption(f"Run `{run.run_id}`  \nas of **{info.get('as_of', '—')}**")
    who = ui.plain(auth.current_user())
    st.caption(f"Signed in as **{who}**" if auth.signed_in() else f"Acting as **{who}**")

try:
    page.run()
finally:  # after the page has been sent: the other pages' defaults are computed while this one is read
    prewarm.start(run)
