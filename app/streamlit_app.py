"""closedloop's app: the router only; pages live in app/views, queries in app/queries*.py.

Not app/pages: Streamlit would also register that folder as a legacy multipage app, and a cold deep
link (/data_health before anyone opened /) would render without the router.

Every page is registered for everyone, so a typed URL reaches the page's own gate (app/access_ui.gate), which
refuses and audits it; the menu lists only the pages the person's roles open.
"""

from __future__ import annotations

import streamlit as st

from app import access_ui, prewarm, queries
from app import components as ui
from closedloop import access

st.set_page_config(page_title="closedloop", page_icon="🔁", layout="wide", initial_sidebar_state="expanded")

SECTIONS = {
    "Monitor": [
        ("overview", ":material/monitoring:"),
        ("findings", ":material/fact_check:"),
        ("trace", ":material/timeline:"),
    ],
    "Trust": [
        ("data_health", ":material/health_and_safety:"),
        ("checks_catalog", ":material/rule:"),
        ("audit", ":material/policy:"),
    ],
}

who = access_ui.principal()
if not who.local and who.actor != "anonymous":
    access_ui.session(who)  # an expired sign-in ends here, before the menu is drawn
order = [name for items in SECTIONS.values() for name, _ in items]
home = next((name for name in order if who.can_see(name)), "overview")
pages = {
    section: [
        st.Page(
            f"views/{name}.py",
            title=access.PAGES[name],
            icon=icon,
            url_path=name,
        )
        for name, icon in items
    ]
    for section, items in SECTIONS.items()
}


def _home() -> None:
    """'/' opens the person's first page at its own address: Streamlit serves a default page at '/' only, so
    were a real page the default, its typed address (a colleague's /trace?id=… link) would say "Page not found"."""
    st.switch_page(f"views/{home}.py")


entry = st.Page(_home, title="closedloop", url_path="home", default=True)
page = st.navigation([entry, *(p for items in pages.values() for p in items)], position="hidden")

run = None
with st.sidebar:
    st.markdown("### :material/all_inclusive: closedloop")
    st.caption("Quote-to-cash, reconciled.")
    if who.roles:
        for section, items in pages.items():
            mine = [p for p, (name, _) in zip(items, SECTIONS[section], strict=True) if who.can_see(name)]
            if mine:
                st.caption(section)
                for p in mine:
                    st.page_link(p)
        run = queries.published()
        if run is None:
            st.caption("No published run yet")
        else:
            info = queries.run_info(run.path)
            st.caption(f"Run `{run.run_id}`  \nas of **{info.get('as_of', '—')}**")
    if who.local:
        st.caption(f"Local mode · acting as **{ui.plain(who.actor)}**")
    elif who.actor != "anonymous":
        st.caption(
            f"Signed in as **{ui.plain(who.actor)}**  \n{ui.plain(', '.join(sorted(who.roles)) or 'no role')}"
        )
        st.button("Sign out", on_click=access_ui.sign_out, icon=":material/logout:")

try:
    page.run()
finally:  # after the page has been sent: the other pages' defaults are computed while this one is read
    if who.roles:
        prewarm.start(run, who)
