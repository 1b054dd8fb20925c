"""The trace page's search: the box with real examples, the chooser, the searched record marked on the flow,
each system's records failing first with links to their source pages, and where to start without an ID.

Page parts only: the queries are app/queries_lookup.py's, the matching rules closedloop/trace_lookup.py's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import streamlit as st

from app import components as ui
from app import deeplinks
from app import queries_lookup as ql
from app.queries import Run
from closedloop.access import Principal
from closedloop.trace import TraceRecord, record_fields
from closedloop.trace_lookup import Column, Hit, Result

BOX = "trace_id"  # the search box's widget key
FLOW_PICK = "trace_flow"  # the flow a chooser click picked
CHOICES_SHOWN = 8
HINTED = (  # the kinds of ID the hint names, in this order: what support is most often handed
    ("flow", "correlation_id"),
    ("invoice", "erp_invoice_no"),
    ("opportunity", "opportunity_id"),
    ("sow", "sow_id"),
    ("project", "project_id"),
    ("integration_event", "event_id"),
)
GOOD_EVENT = ("success", "succeeded", "ok", "processed")


# ---- the box ---------------------------------------------------------------------------------------------


def _examples(cols: list[Column]) -> list[tuple[str, str]]:
    by_key = {(c.entity_type, c.column): c for c in cols}
    return [(c.label, c.example) for k in HINTED if (c := by_key.get(k)) and c.example]


def placeholder(cols: list[Column]) -> str:
    """e.g. three real IDs of this run (a correlation ID, an invoice number, an opportunity)."""
    shown = [ex for _, ex in _examples(cols)[:3]]
    return (
        ("e.g. " + ", ".join(shown) + " …") if shown else "Any ID: correlation, invoice number, record id …"
    )


def rules(cols: list[Column]) -> str:
    """How forgiving the lookup is on this run's formats, in one line."""
    said = ["any case", "spaces and dashes optional"]
    prefixes = sorted({p for c in cols for p, _s, _w in c.numbering})
    if 0 < len(prefixes) <= 4:
        said.append(f"the {'/'.join(prefixes)} prefix and leading zeros optional")
    elif prefixes:  # a firm whose every record is numbered: naming each prefix would drown the hint
        said.append("document prefixes and leading zeros optional")
    if any(c.salesforce for c in cols):
        said.append("Salesforce IDs in 15 or 18 characters")
    return ", ".join(said) + "."


def hint(cols: list[Column]) -> str:
    """What the box accepts, with a real example of each kind (Markdown)."""
    kinds = " · ".join(f"{ui.plain(label)} {ui.code(ex)}" for label, ex in _examples(cols))
    return (kinds + " — " if kinds else "") + rules(cols)


def search_box(cols: list[Column]) -> str:
    """The search box, following the URL's ?id= when it changes (a link to another flow of this page)."""
    url = ui.url_one("id")
    if st.session_state.get("_trace_url") != url:  # the first run, or a link that carries another ID
        st.session_state[BOX] = url
        st.session_state["_trace_url"] = url
    raw = st.text_input(
        "ID",
        key=BOX,
        placeholder=placeholder(cols),
        label_visibility="collapsed",
        icon=":material/search:",
    )
    st.caption(hint(cols))
    return raw


def keep_in_url(needle: str) -> None:
    """The URL carries what was searched (shareable); remembered so the box does not take it back."""
    ui.sync_url({"id": needle})
    st.session_state["_trace_url"] = ui.url_one("id")


def _pick(value: str, flow: str | None) -> None:
    st.session_state[BOX] = value
    st.session_state[FLOW_PICK] = (value, flow)  # a pick holds for the value it was made for only


# ---- what a lookup found ---------------------------------------------------------------------------------


def no_match(result: Result, cols: list[Column]) -> None:
    """Nothing found: say so, and what the box accepts, a real example of each kind."""
    with st.container(border=True):
        st.markdown(f"**Nothing in this run has the ID “{ui.plain(result.query)}”.** The trace accepts:")
        st.markdown("\n".join(f"- {ui.plain(label)}, e.g. {ui.code(ex)}" for label, ex in _examples(cols)))
        said = rules(cols)
        st.caption(said[:1].upper() + said[1:])


def chosen_flow(result: Result) -> str | None:
    """The flow to show: the only one, or the one picked; with several and none picked, a short chooser
    (each match a click) and None."""
    flows = result.flows
    if len(flows) == 1:
        return flows[0]
    picked = st.session_state.get(FLOW_PICK)
    if picked and picked[0] == result.query and picked[1] in flows:
        return picked[1]
    records = [h for h in result.hits if h.correlation_id]
    st.markdown(
        f"**“{ui.plain(result.query)}” matches {len(records)} records on {len(flows)} flows.** Pick one:"
    )
    for i, h in enumerate(records[:CHOICES_SHOWN]):
        what = "flow" if h.entity_type == "flow" else h.entity_type.replace("_", " ")
        st.button(
            f"{ui.plain(what)} {ui.plain(h.value)} · flow {ui.plain(h.correlation_id)} · {ui.plain(h.lane or '')}",
            key=f"trace_choice_{i}",
            type="tertiary",
            icon=":material/arrow_forward:",
            on_click=_pick,
            args=(h.value, h.correlation_id),
        )
    if len(records) > CHOICES_SHOWN:
        st.caption(f"… and {len(records) - CHOICES_SHOWN} more: type more of the ID to narrow them down.")
    return None


def searched_on(result: Result, cid: str) -> list[Hit]:
    """The records the lookup named on this flow (none when the ID was the flow's own correlation ID)."""
    return [h for h in result.records if h.correlation_id == cid]


def matched_note(result: Result, searched: list[Hit]) -> None:
    """When the match was not exact, say what was found, so a near miss is never taken for the record."""
    if searched and searched[0].level > 0:
        h = searched[0]
        st.caption(
            f"“{ui.plain(result.query)}” found {ui.plain(h.entity_type.replace('_', ' '))} "
            f"{ui.code(h.value)} ({ui.plain(h.how)})."
        )


# ---- the searched record on the flow -------------------------------------------------------------------------


def _key(r: TraceRecord | Hit) -> tuple[str, str]:
    return r.entity_type, r.entity_id


def open_tab(labels: list[str], lanes: list[str], result: Result, searched: list[Hit], cid: str) -> None:
    """On a new lookup, open the searched record's system tab (the findings tab for a correlation ID)."""
    key = (result.query, cid)
    if st.session_state.get("_trace_tab_for") == key:
        return  # the same lookup again (a tab click, a rerun): the person's tab stays
    st.session_state["_trace_tab_for"] = key
    lane = searched[0].lane if searched else None
    st.session_state["trace_tab"] = labels[1 + lanes.index(lane)] if lane in lanes else labels[0]


# ---- one system's records ------------------------------------------------------------------------------------


def _failing(r: TraceRecord, flagged: set[tuple[str, str]]) -> bool:
    if r.entity_type == "integration_event":
        return str(r.fields.get("status") or "").lower() not in GOOD_EVENT
    return _key(r) in flagged


def _error(r: TraceRecord, problems: dict[tuple[str, str], list[str]]) -> str | None:
    if r.entity_type == "integration_event" and r.fields.get("error_message"):
        return str(r.fields["error_message"])
    return "; ".join(problems.get(_key(r), [])) or None


def record_links(
    run: Run, cid: str, rows: list[TraceRecord], who: Principal
) -> tuple[dict[tuple[str, str], tuple[str, str]], list[str]]:
    """(entity type, id) → (system, URL of its page there), and the settings that would add missing links.
    Hosts come from each source's config (app/deeplinks.py), never from the data."""
    found = ql.record_sources(run.path, cid, tuple(sorted({r.entity_type for r in rows})), who)
    sources = deeplinks.configured_sources()
    out = {}
    for rec in found:
        cfg = sources.get(rec["source_system"] or "")
        if cfg is None or not rec["source_id"]:
            continue
        kind = str(cfg.get("kind") or rec["source_system"])
        url = deeplinks.record_url(kind, cfg, rec["entity_type"], rec["source_id"], rec["record_type"])
        if url:
            out[(rec["entity_type"], rec["entity_id"])] = (deeplinks.SYSTEM_NAMES.get(kind, kind), url)
    missing = sorted({lk.missing for lk in deeplinks.links(found, sources) if lk.url is None and lk.missing})
    return out, missing


def records(
    lane: str,
    mine: list[TraceRecord],
    searched: list[Hit],
    findings: list[dict[str, Any]],
    links: dict[tuple[str, str], tuple[str, str]],
) -> None:
    """One system's records on the flow, a table per record type: failing rows first, then the searched one;
    status and error lead, the searched row is marked ▶, and each record links to its page in its system."""
    if not mine:
        ui.empty(
            f"No {lane} records on this flow.",
            "A gap here is often the break itself: the record was never created or never synced.",
        )
        return
    wanted = {_key(h) for h in searched}
    problems: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f.get("status") not in ("closed", "resolved"):
            text = f"{f.get('check_id')} {f.get('title') or ''}".strip()
            problems.setdefault((f.get("entity_type"), f.get("entity_id")), []).append(text)
    flagged = set(problems)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    types = list(dict.fromkeys(r.entity_type for r in mine))
    types.sort(key=lambda t: t not in {h.entity_type for h in searched})  # the searched record's table first
    for etype in types:
        rows = sorted(
            (r for r in mine if r.entity_type == etype),
            key=lambda r: (not _failing(r, flagged), _key(r) not in wanted, r.ts or far),
        )
        failing = sum(_failing(r, flagged) for r in rows)
        st.markdown(
            f"**{etype.replace('_', ' ')}** · {len(rows)}" + (f" · {failing} failing" if failing else "")
        )
        system = next((links[_key(r)][0] for r in rows if _key(r) in links), None)
        table = pl.DataFrame(
            [
                {
                    "status": None if r.fields.get("status") is None else str(r.fields["status"]),
                    "error": _error(r, problems),
                    "id": ("▶ " if _key(r) in wanted else "") + r.entity_id,
                    **({"open in": links.get(_key(r), (None, None))[1]} if system else {}),
                    "when": r.ts.strftime("%Y-%m-%d %H:%M") if isinstance(r.ts, dt.datetime) else None,
                    **{
                        k: None if v is None else str(v)
                        for k, v in record_fields(r).items()
                        if k not in ("status", "error_message")
                    },
                }
                for r in rows
            ],
            infer_schema_length=None,
        )
        # status and error lead where a record type has them; a type with neither (a payment) shows none
        table = table.drop([c for c in ("status", "error") if table[c].null_count() == table.height])
        config: dict[str, Any] = {"error": st.column_config.TextColumn("error", width="large")}
        if system:
            config["open in"] = st.column_config.LinkColumn("open in", display_text=f"{system} ↗")
        ui.table(table, column_config=config)


def missing_links(missing: list[str]) -> None:
    if missing:
        st.caption(
            "No links to the source systems: " + ", ".join(missing).replace("[", "\\[") + " is not set."
        )


# ---- no ID yet -----------------------------------------------------------------------------------------------


def _when(ts: Any) -> str:
    return ts.strftime("%Y-%m-%d") if isinstance(ts, dt.datetime | dt.date) else "—"


def start_here(run: Run, who: Principal) -> None:
    """Where to start without an ID: the flows still failing or dead-lettered (most recent first) and the
    largest open cases, each one click from its flow."""
    flows, cases = ql.starting_points(run.path, run.run_id, who)
    if not flows and not cases:
        return
    with st.container():
        st.markdown("##### Still failing or dead-lettered")
        if not flows:
            st.caption("Every integration event on a flow was delivered, at the first attempt or on a retry.")
        for i, f in enumerate(flows):
            more = f" (+{f['events'] - 1} more)" if f["events"] > 1 else ""
            st.button(
                f"{ui.plain(f['correlation_id'])} · **{ui.plain(f['state'])}**{ui.plain(more)} · "
                f"{ui.plain(f['event_type'])} {ui.plain(f['source_system'])} → {ui.plain(f['target_system'])} · "
                f"{_when(f['created_at'])} · {ui.plain((f['error_message'] or '')[:80])}",
                key=f"trace_start_flow_{i}",
                type="tertiary",
                icon=":material/sync_problem:",
                help=f"Its newest undelivered event, after {f['attempts']} attempt(s). Open the flow.",
                on_click=_pick,
                args=(f["correlation_id"], f["correlation_id"]),
            )
    with st.container():
        st.markdown("##### Largest open cases")
        if not cases:
            st.caption("No open case on a flow in this run.")
        for i, c in enumerate(cases):
            amounts = " · ".join(
                f"{ui.money(c[col], run.currency, compact=True)} {kind}"
                for col, kind in (("leakage_rc", "leakage"), ("exposure_rc", "exposure"), ("cash_rc", "cash"))
                if c.get(col) is not None
            )
            st.button(
                f"{ui.plain(c['correlation_id'])} · **{ui.plain(amounts or 'compliance')}** · "
                f"{ui.plain(c['check_id'])} {ui.plain(c.get('title') or '')}",
                key=f"trace_start_case_{i}",
                type="tertiary",
                icon=":material/flag:",
                on_click=_pick,
                args=(c["correlation_id"], c["correlation_id"]),
            )
