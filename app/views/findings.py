"""The queue for finance: cases (the findings on the same money), filtered, grouped, paged, acted on in bulk;
the selected case beside it."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal, InvalidOperation

import streamlit as st

from app import access_ui, case_panel, masking_ui, workflow_panel
from app import components as ui
from app import queries as q
from app import queries_case_detail as qd
from app import queries_cases as qc
from app import queue_table as qt
from closedloop.access import MASKED
from closedloop.workflow import ACTIVE, STATUSES

GROUP_BY = {
    "": "None",
    "check": "Check",
    "client": "Client",
    "sow": "SOW / project",
    "owner": "Owner team",
    "age": "Age",
}
SORT_LABELS = {
    "impact": "largest amount (any kind)",
    "leakage": "leakage",
    "exposure": "exposure",
    "cash": "cash",
    "severity": "severity",
    "age": "age",
}
KIND_OPTIONS = [
    ("leakage", "leakage"),
    ("exposure", "exposure"),
    ("cash", "cash"),
    ("compliance", "compliance"),
]


@st.fragment
def queue_body(t: dict, filters: q.Filters, ov: q.Overlay, group: str, size: int, compact: bool) -> None:
    """The cases (or groups) with the pager and the bulk form: selecting rows or a group, or turning a page,
    reruns this part only; the filters and totals above it do not change with a selection."""
    if st.session_state.get("_bulk_gen", 0) != st.session_state.get("_full_gen", 0):
        st.rerun()  # a bulk action changed statuses: the totals above follow, so the whole page runs again
    gen = st.session_state.get("_bulk_gen", 0)

    def open_case(key: str) -> None:
        if st.query_params.get("sel") != key:
            st.query_params["sel"] = key
            st.rerun()

    if t["cases"] == 0:
        ui.empty("No cases match these filters.", "Widen the filters, or clear them to see the whole queue.")
    elif not group:
        number = qt.page_number("page", t["cases"], size)
        rows = qc.page(run, as_of, filters, ov, number, size, None, None, who)
        table_key = f"cases_{gen}_{number}_{size}"
        picked = qt.cases(rows, key=table_key, currency=run.currency, compact=compact, who=who)
        qt.pager(t["cases"], size, number, param="page")
        selected = tuple(rows["case_key"][i] for i in picked if i < rows.height)
        workflow_panel.bulk_form("bulk", run, selected, compact=compact)
        if (hit := qt.opened(table_key, picked)) is not None and hit < rows.height:
            open_case(rows["case_key"][hit])
    else:
        grouped = qc.groups(run, as_of, filters, ov, group, who)
        st.caption(
            f"{grouped.height:,} groups by {GROUP_BY[group].lower()}, each with its cases and money per kind. "
            "Select a group to list its cases."
        )
        values = grouped["value"].to_list()
        chosen = ui.url_one("grp") if ui.url_one("grp") in values else None
        picked_group = qt.groups(
            grouped,
            key=f"groups_{group}_{gen}",
            by=group,
            currency=run.currency,
            chosen=values.index(chosen) if chosen is not None else None,
            who=who,
        )
        # the selection is the expanded group (it starts as the URL's): follow it in this run, no second rerun
        now_chosen = values[picked_group[0]] if picked_group and picked_group[0] < len(values) else None
        if now_chosen != chosen and "gpage" in st.query_params:
            del st.query_params["gpage"]  # another group starts on its first page
        if now_chosen is None and "grp" in st.query_params:
            del st.query_params["grp"]
        elif now_chosen is not None and st.query_params.get("grp") != now_chosen:
            st.query_params["grp"] = now_chosen
        chosen = now_chosen
        if chosen is not None:
            g = grouped.row(values.index(chosen), named=True)
            with st.container(border=True):
                hidden = masking_ui.columns(grouped, who)
                money = " · ".join(
                    f"{label} {MASKED if col in hidden else ui.money(g[col], run.currency)}"
                    for col, label in (
                        ("leakage_rc", "leakage"),
                        ("exposure_rc", "exposure"),
                        ("cash_rc", "cash"),
                    )
                    if g[col] is not None or col in hidden
                )
                comp = (
                    f" · compliance {g['compliance_findings']:,} findings" if g["compliance_findings"] else ""
                )
                st.markdown(f"**{ui.plain(g['label'])}** · {g['cases']:,} cases · {ui.plain(money)}{comp}")
                number = qt.page_number("gpage", g["cases"], size)
                rows = qc.page(run, as_of, filters, ov, number, size, group, chosen, who)
                table_key = (
                    f"group_{gen}_{group}_{hashlib.md5(chosen.encode()).hexdigest()[:10]}_{number}_{size}"
                )
                picked = qt.cases(rows, key=table_key, currency=run.currency, compact=compact, who=who)
                qt.pager(g["cases"], size, number, param="gpage")
                shown = qc.group_keys(run, as_of, filters, ov, group, chosen, who)

                def members_now(
                    by: str = group, value: str = chosen, f: q.Filters = filters
                ) -> tuple[str, ...]:
                    _, fresh = workflow_panel.case_overlay(run, info)
                    return qc.group_keys(run, as_of, f, fresh, by, value, who)

                selected = tuple(rows["case_key"][i] for i in picked if i < rows.height)
                workflow_panel.bulk_form(
                    "bulk_group", run, selected, (g["label"], shown, members_now), compact=compact
                )
                if (hit := qt.opened(table_key, picked)) is not None and hit < rows.height:
                    open_case(rows["case_key"][hit])


def _exported(what: str, filters: q.Filters, rows: int | None) -> None:
    """A download's on_click: the person of this request must have `export` (else an audited refusal), and the
    export is recorded with its filters and row count."""
    now = access_ui.principal()
    if access_ui.allowed(now, "export", what):
        lists = {k: list(v) for k, v in filters.lists}
        detail = {"run_id": run.run_id, "rows": rows, "filters": lists, "min_impact": filters.min_impact,
                  "text": filters.text, "sort": filters.sort}  # fmt: skip
        access_ui.record("export", what, detail, now)


def _pack_rows(period: str) -> int:
    """Cases in the month's exception pack, as its CSV lists them (the audit's row count)."""
    return max(
        len(list(csv.reader(io.StringIO(q.exception_pack(run, period, who)[0].decode("utf-8"))))) - 1, 0
    )


def export_buttons(t: dict, filters: q.Filters) -> None:
    """The queue's downloads (the cases, their findings, the month's exception pack), each one audited."""
    st.download_button(
        "Cases CSV (one row per case, a column per kind)",
        data=lambda: qc.export_cases_csv(run, as_of, filters, ov, who),
        file_name=f"cases-{run.run_id}.csv",
        mime="text/csv",
        icon=":material/download:",
        width="stretch",
        key="export_cases",
        on_click=lambda: _exported("cases CSV", filters, int(t["cases"])),
    )
    st.download_button(
        "Findings CSV (each finding of those cases)",
        data=lambda: qc.export_findings_csv(run, as_of, filters, ov, who),
        file_name=f"case-findings-{run.run_id}.csv",
        mime="text/csv",
        icon=":material/download:",
        width="stretch",
        key="export_findings",
        on_click=lambda: _exported("findings CSV", filters, int(t["findings"] or 0)),
    )
    # the month-end exception pack of the run's business month (closedloop pack --period for any other month)
    period = str(as_of)[:7] if as_of else None
    if period:
        st.download_button(
            f"Exception pack {period} (HTML, for the close)",
            data=lambda: q.exception_pack(run, period, who)[1].encode("utf-8"),
            file_name=f"exception-pack-{period}.html",
            mime="text/html",
            icon=":material/summarize:",
            width="stretch",
            key="export_pack_html",
            on_click=lambda: _exported(f"exception pack {period} HTML", filters, _pack_rows(period)),
        )
        st.download_button(
            f"Exception pack {period} (CSV)",
            data=lambda: q.exception_pack(run, period, who)[0],
            file_name=f"exception-pack-{period}.csv",
            mime="text/csv",
            icon=":material/download:",
            width="stretch",
            key="export_pack_csv",
            on_click=lambda: _exported(f"exception pack {period} CSV", filters, _pack_rows(period)),
        )


who = access_ui.gate("findings")
run = q.published()
if run is None:
    ui.header("Findings queue", "Cases with their money per kind, owner and status", run)
    ui.no_run()
    st.stop()
if "results.cases" not in q.tables(run.path):
    ui.header("Findings queue", "Cases with their money per kind, owner and status", run)
    ui.empty("This run has no cases.", "Checks run as part of `closedloop run`; the queue fills in then.")
    st.stop()

info = q.run_info(run.path)
as_of = info.get("as_of")
states, ov = workflow_panel.case_overlay(run, info)
opts = qc.filter_options(run.path, run.run_id, who)

# ?sel= names a case, or one of its findings (links from the trace and from before cases): open its case
sel = ui.url_one("sel")
case_key = qd.case_key_for(run.path, run.run_id, sel, who) if sel else None
if sel and case_key and case_key != sel:
    st.query_params["sel"] = case_key
main, side = st.columns([3, 2], gap="medium") if sel else (st.container(), None)
compact = side is not None  # a case is open beside the queue: the queue gives it room

with main:
    ui.header("Findings queue", "Cases: the findings on the same money, counted once per kind", run)
    # ---- filters (all in the URL) ----
    status_url = ui.url_list("status")
    ui.seed(
        "f_status", [] if status_url == ["any"] else [s for s in status_url if s in STATUSES] or list(ACTIVE)
    )
    ui.seed("f_min", ui.url_one("min"))
    ui.seed("f_q", ui.url_one("q"))
    ui.seed("f_sort", ui.url_one("sort", "impact") if ui.url_one("sort", "impact") in qc.SORTS else "impact")
    ui.seed("f_group", ui.url_one("group") if ui.url_one("group") in GROUP_BY else "")
    ui.seed(
        "f_size", int(ui.url_one("size", "50")) if ui.url_one("size", "50") in ("50", "100", "200") else 50
    )
    filters_box = st.expander("Filters, grouping and sort") if compact else st.container()
    with filters_box:
        r1 = st.columns([3, 3, 3, 3, 2], vertical_alignment="bottom")
        with r1[0]:
            checks = ui.multiselect("Check", "check", opts["check"])
        with r1[1]:
            clients = ui.multiselect("Client", "client", opts["client"])
        with r1[2]:
            owners = ui.multiselect("Owner team", "owner", opts["owner"])
        with r1[3]:
            status = st.multiselect("Status", list(STATUSES), key="f_status", format_func=ui.badge)
        c = st.columns([6, 3, 1], vertical_alignment="bottom")
        group = (
            c[0].segmented_control("Group by", list(GROUP_BY), key="f_group", format_func=GROUP_BY.get) or ""
        )
        sort = c[1].selectbox(
            "Sort by", list(qc.SORTS), key="f_sort", format_func=lambda s: f"{SORT_LABELS[s]}, largest first"
        )
        size = c[2].selectbox("Per page", list(qc.PAGE_SIZES), key="f_size")
        more = ("severity", "kind", "age", "entity", "domain", "practice", "region")
        n_more = sum(bool(st.session_state.get(f"f_{k}", ui.url_list(k))) for k in more)
        n_more += bool(st.session_state.get("f_min", ui.url_one("min"))) + bool(
            st.session_state.get("f_q", ui.url_one("q"))
        )
        with r1[4].popover(
            f"More filters ({n_more})" if n_more else "More filters",
            icon=":material/filter_list:",
            width="stretch",
        ):
            sev = ui.multiselect("Severity", "severity", [(s, s) for s in ("S1", "S2", "S3", "S4")])
            kinds = ui.multiselect("Kind of money", "kind", KIND_OPTIONS)
            ages = ui.multiselect("Age (days)", "age", [(k, f"{k} days") for k, *_ in q.AGE_BUCKETS])
            entities = ui.multiselect("Legal entity", "entity", opts["entity"])
            domains = ui.multiselect("Check family", "domain", opts["domain"])
            practices = ui.multiselect("Practice", "practice", [])
            regions = ui.multiselect("Region", "region", [])
            min_text = st.text_input(
                "Min amount (any one kind)", key="f_min", placeholder="e.g. 10000", max_chars=20
            )
            text = st.text_input("Document, ID or client contains", key="f_q", max_chars=200)

    min_impact = None
    if min_text.strip():
        try:
            min_impact = Decimal(min_text.replace(",", "").replace("$", "").strip())
        except InvalidOperation:
            st.warning("Min amount must be a number; ignoring it.")
        if min_impact is not None and not (min_impact.is_finite() and abs(min_impact) < Decimal("1e15")):
            st.warning("Min amount is out of range; ignoring it.")
            min_impact = None

    lists = {
        "check": checks, "severity": sev, "owner": owners, "status": status, "client": clients,
        "entity": entities, "age": ages, "domain": domains, "kind": kinds, "practice": practices, "region": regions,
    }  # fmt: skip
    filters = q.Filters(
        lists=tuple((k, tuple(v)) for k, v in lists.items() if v),
        min_impact=min_impact,
        text=text.strip(),
        sort=sort,
    )
    # a new question starts on its first page
    signature = (filters, group)
    prev = st.session_state.get("_queue_sig")
    if prev is not None and prev != signature:
        for param in ("page", "gpage", *(("grp",) if prev[1] != group else ())):
            if param in st.query_params:
                del st.query_params[param]
    st.session_state["_queue_sig"] = signature
    ui.sync_url(
        {
            **lists,
            "status": status or ["any"],
            "min": min_text.strip(),
            "q": text.strip(),
            "sort": "" if sort == "impact" else sort,
            "group": group,
            "size": "" if size == 50 else size,
        }
    )

    # ---- totals that follow the filters: one figure per kind, never a total across kinds ----
    t = qc.totals(run, as_of, filters, ov, who)
    qt.totals(t, run.currency, compact=compact)
    masking_ui.caption(who, t)
    note, export = st.columns([3, 1.2] if compact else [5, 1], vertical_alignment="center")
    note.caption(
        f"Sorted by {SORT_LABELS[sort]}, largest $ first. Each kind of money is its own figure, never added to "
        "another. Click a row's box to open its case on the right."
    )
    if who.can("export"):
        with export.popover("Export", icon=":material/download:", width="stretch"):
            export_buttons(t, filters)
    else:
        export.caption(":material/lock: Exports are for finance.")
    st.session_state["_full_gen"] = st.session_state.get("_bulk_gen", 0)
    queue_body(t, filters, ov, group, size, compact)


if side is not None:
    # The case stays in view beside the queue: the panel sticks below the app's header and scrolls on its own,
    # so a row clicked far down the queue opens its case where the eye is.
    st.html(
        "<style>[data-testid=stLayoutWrapper]:has(> .st-key-case_panel){position:sticky;top:3.75rem}"
        "[data-testid=stColumn]:has(.st-key-case_panel)>[data-testid=stVerticalBlock]{height:100%}"
        ".st-key-case_panel{max-height:calc(100vh - 13rem);overflow-y:auto;overflow-x:hidden;"
        "padding-right:.5rem}</style>"
    )
    with side, st.container(key="case_panel"):
        if case_key is None:
            ui.empty("That case is not in this run.", "A later run may have closed it, or the link is wrong.")
            if st.button("Close", icon=":material/close:", key="close_missing"):
                del st.query_params["sel"]
                st.rerun()
        else:
            viewed = st.session_state.setdefault("_cases_viewed", set())
            if case_key not in viewed:  # once per case per session: reruns of the open case are not new views
                viewed.add(case_key)
                access_ui.record("view_case", case_key, {"run_id": run.run_id, "link": sel}, who)
            case_panel.show(run, case_key, states.get(case_key), info, who)
