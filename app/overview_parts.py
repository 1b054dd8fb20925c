"""The overview's sections in words: money per kind, what to fix first, what was resolved since the last run.

Every figure is one kind's (leakage, exposure, cash, or compliance as a count); nothing here adds kinds together.
Names people read come first; codes (check and KPI ids) follow in small type.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st

from app import components as ui
from app import masking_ui
from app import queries as q
from app import queries_overview as qo
from checks.loader import IMPACT_KINDS
from closedloop import case_audit
from closedloop.access import MASKED, Principal
from closedloop.workflow import STATUSES

# every case of the run, whatever its workflow status, as the tiles count them
ALL = {"status": [s for s in STATUSES if s != "closed"]}
# one colour per kind wherever kinds are drawn side by side (never stacked: a stack reads as a sum)
KIND_COLORS = {"leakage": ui.PALETTE[3], "exposure": ui.PALETTE[1], "cash": ui.PALETTE[0]}
# kind -> (tile title, the name of its second figure or None)
TILES = {
    "leakage": ("Revenue leakage", "expected loss"),
    "exposure": ("Exposure", None),
    "cash": ("Cash delayed", "cost of delay"),
    "compliance": ("Compliance breaks", None),
}
DOCUMENTS = {"time_entry": "time entry", "crm_invoice_status": "CRM invoice record", "sow": "SOW"}


def count(n: int, word: str) -> str:
    """'1 case', '2 cases'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def money(value: Any, currency: str, compact: bool = True) -> str:
    """Money for people (compact: $2.3M)."""
    return ui.money(value, currency, compact=compact)


def delta_args(change: Any, fmt, *, lower_is_better: bool = True) -> dict[str, Any]:
    """st.metric's delta arguments: no change is shown neutral (grey, no arrow), never as a gain or a loss."""
    if change is None:
        return {}
    if change == 0 or fmt(abs(change)) == fmt(0):  # also a change too small to show (0.0%, $0.00)
        return {"delta": "no change", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": fmt(change), "delta_color": "inverse" if lower_is_better else "normal"}


def _previous(trend: pl.DataFrame, as_of: dt.date | None, kind: str) -> tuple[dt.date | None, dict | None]:
    """The kind's figures on the business date before as_of (None when this is the first)."""
    if trend.is_empty() or as_of is None:
        return None, None
    earlier = trend.filter(pl.col("as_of") < as_of)
    if earlier.is_empty():
        return None, None
    last = earlier["as_of"].max()
    rows = earlier.filter((pl.col("as_of") == last) & (pl.col("kind") == kind)).to_dicts()
    return last, (rows[0] if rows else {"cases": 0, "amount": Decimal("0.00"), "second": None})


def kind_tiles(run: q.Run, as_of: dt.date | None, who: Principal) -> None:
    """One tile per kind: the amount at stake counted once per case (compliance: cases by severity), over
    the person's scope; a masked amount shows as ••• with no trend; links to the cases only for a role that
    opens the queue."""
    totals = qo.kind_totals(run.path, run.run_id, who)
    trend = qo.kind_trend(run.path, who)
    if who.scope.limited:
        st.caption(
            f"Figures for {ui.plain(who.scope.describe())} (your scope). The trend over earlier runs is kept for the "
            "whole firm only, so it is not shown."
        )
    masking_ui.caption(who, ["amount"] if who.masks("amounts") else [])
    cols = st.columns(len(TILES))
    for col, (kind, (title, second_name)) in zip(cols, TILES.items(), strict=True):
        t = totals[kind]
        prev_date, prev = _previous(trend, as_of, kind)
        series = trend.filter(pl.col("kind") == kind) if not trend.is_empty() else trend
        meaning = IMPACT_KINDS[kind]
        with col.container(border=True):
            if kind == "compliance":
                counts = [int(v or 0) for v in series["cases"]] if not series.is_empty() else []
                st.metric(
                    title,
                    count(t["cases"], "case"),
                    help=f"Compliance: {meaning}. Cases with a broken control, by their worst finding.",
                    chart_data=counts if len(counts) > 1 else None,
                    chart_type="area",
                    delta_description=f"vs {prev_date}" if prev else None,
                    **delta_args(None if prev is None else t["cases"] - prev["cases"], lambda v: f"{v:+,}"),
                )
                sev = " · ".join(f"{s} {t['by_severity'].get(s, 0):,}" for s in qo.SEVERITIES)
                st.caption(f"{sev} · no money figure")
            elif t["amount"] == MASKED:
                st.metric(title, MASKED, help=f"{title}: {meaning}. Masked for your role.")
                st.caption(f"{MASKED} in {count(t['cases'], 'case')}")
            else:
                values = [float(v or 0) for v in series["amount"]] if not series.is_empty() else []
                st.metric(
                    title,
                    money(t["amount"], run.currency),
                    help=f"{title}: {meaning}. Amount at stake, each case counted once, in {run.currency}.",
                    chart_data=values if len(values) > 1 else None,
                    chart_type="area",
                    delta_description=f"vs {prev_date}" if prev else None,
                    **delta_args(
                        None if prev is None else t["amount"] - (prev["amount"] or Decimal("0.00")),
                        lambda v: money(v, run.currency),
                    ),
                )
                line = f"{money(t['amount'], run.currency, compact=False)} in {count(t['cases'], 'case')}"
                if second_name and t["second"] is not None:
                    line += f" · {second_name} {money(t['second'], run.currency)}"
                st.caption(line)
            if who.can_see("findings"):
                ui.link("Open these cases →", "findings", {**ALL, "kind": [kind]})


def _document(money_type: str | None, doc: Any) -> str:
    return f"{DOCUMENTS.get(money_type or '', money_type or 'record')} {doc}"


def _names(c: dict[str, Any]) -> tuple[str, str]:
    """What a person recognises a case's money by (a project number over a SOW's opaque id), and the ids."""
    doc = _document(c["money_type"], c["document"])
    if not c.get("project_name") or c["money_type"] not in ("sow", "project", "time_entry", "amendment"):
        return doc, ""
    if c["money_type"] == "time_entry":
        return f"{doc} on project {c['project_name']}", ""
    return f"project {c['project_name']}", doc


def fix_first(run: q.Run, as_of: dt.date | None, who: Principal) -> None:
    """The five cases with the most leakage, each one click from its evidence (totals only: not shown)."""
    if not who.detail:
        st.caption("Your role sees totals only: the cases behind them are not listed.")
        return
    rows = qo.fix_first(run, as_of, who) if as_of else []
    if not rows:
        ui.empty("No revenue leakage in this run.", "Nothing to fix first: no case has leakage.")
        return
    for i, c in enumerate(rows, 1):
        with st.container(border=True):
            left, mid, right = st.columns([1.3, 6, 1.5], vertical_alignment="center")
            left.markdown(f"**{i}. {money(c['leakage_rc'], run.currency)}**  \n:small[leakage]")
            who = c["client_name"] or c["client_id"] or "no client"
            name, ids = _names(c)
            detail = [c["root_check_id"] or "", *([ids] if ids else []), c["owner_team"] or "no owner team"]
            if c["age_days"] is not None:
                detail.append(f"{c['age_days']:,} days since the break")
            if c["leakage_expected_rc"] is not None:
                detail.append(f"expected loss {money(c['leakage_expected_rc'], run.currency)}")
            mid.markdown(
                f"**{ui.plain(c['title'] or c['root_check_id'])}** — {ui.plain(who)} · {ui.plain(name)}  \n"
                f":small[{ui.plain(' · '.join(detail))}]"
            )
            with right:
                ui.link("Open evidence →", "findings", {"sel": c["case_key"]})


def _amounts(row: dict[str, Any], currency: str) -> str:
    """A case's money, each kind named and shown apart."""
    parts = [
        f"{k} {money(row[f'{k}_rc'], currency)}" for k in qo.MONEY_KINDS if row.get(f"{k}_rc") is not None
    ]
    return " · ".join(parts) or "no money figure"


def since_last_run(run: q.Run, as_of: dt.date | None, started: dt.datetime | None, who: Principal) -> None:
    """What the runs of this business date closed, and what people marked resolved since the last run (cases
    only for a role that sees them, in its scope)."""
    if not who.detail:
        return
    closed = qo.closed_on(run.path, as_of, who) if as_of else []
    since = qo.previous_run_started(run.path, run.run_id)
    wf = qo.case_workflow(run.ops_url)
    marked = case_audit.resolved_since(wf, since)
    if who.scope.limited:  # the ops store knows no scope: keep the cases the run places in the person's
        labels = qo.case_labels(run.path, run.run_id, tuple({r["finding_key"] for r in marked}), who)
        marked = [r for r in marked if r["finding_key"] in labels]
    trails = case_audit.trails(wf, [c["case_key"] for c in closed[:5]]) if closed else {}
    left, right = st.columns(2)
    with left.container(border=True):
        st.markdown(f"**Closed since the last run: {count(len(closed), 'case')}**")
        if not closed:
            st.caption("No case was closed on this business date: the data still shows every one.")
        else:
            per_kind = {
                k: MASKED
                if who.masks("amounts")
                else sum((c[f"{k}_rc"] for c in closed if c[f"{k}_rc"] is not None), Decimal("0.00"))
                for k in qo.MONEY_KINDS
            }
            counts = {k: sum(1 for c in closed if c[f"{k}_rc"] is not None) for k in qo.MONEY_KINDS}
            kinds = " · ".join(
                f"{k} {money(per_kind[k], run.currency)} ({count(counts[k], 'case')})"
                for k in qo.MONEY_KINDS
                if counts[k]
            )
            st.caption(f"The data no longer shows them · {kinds or 'no money figure'}")
            for c in closed[:5]:
                by = [r for r in trails.get(c["case_key"], []) if r["action"] == "resolve"]
                actor = (MASKED if who.masks("people") else by[-1]["actor"]) if by else None
                done_by = f"marked resolved by {actor}" if by else "fixed at the source"
                st.markdown(
                    f"✔ {ui.plain(c['title'] or c['root_check_id'])} — "
                    f"{ui.plain(_document(c['money_type'], c['money_id']))}  \n"
                    f":small[{ui.plain(_amounts(c, run.currency))} · {ui.plain(done_by)}]"
                )
    with right.container(border=True):
        cases = len({r["finding_key"] for r in marked})
        st.markdown(f"**Marked resolved by people: {count(cases, 'case')}**")
        if not marked:
            st.caption("Nobody marked a case resolved since the last run.")
        else:
            people: dict[str, int] = {}
            for r in marked:
                name = MASKED if who.masks("people") else r["actor"]
                people[name] = people.get(name, 0) + 1
            st.caption(
                " · ".join(f"{ui.plain(p)} ({n:,})" for p, n in sorted(people.items(), key=lambda x: -x[1]))
            )
            labels = qo.case_labels(run.path, run.run_id, tuple(r["finding_key"] for r in marked[:5]), who)
            for r in marked[:5]:
                lab = labels.get(r["finding_key"])
                what = (
                    f"{lab['title']} — {_document(lab['money_type'], lab['money_id'])}" if lab else "a case"
                )
                reason = ((r.get("payload") or {}).get("reason") or "no reason").replace("_", " ")
                st.markdown(
                    f"{ui.plain(MASKED if who.masks('people') else r['actor'])} · {r['at']:%Y-%m-%d %H:%M} UTC — {ui.plain(what)}  \n"
                    f":small[{ui.plain(reason)} · {_outcome(lab, r['at'], started)}]"
                )


def _outcome(label: dict[str, Any] | None, at: dt.datetime, run_started: dt.datetime | None) -> str:
    """What became of a resolve action: the data confirmed it, still finds the case, or the next run will tell."""
    if label is None or not label["open"]:
        return "confirmed: the data no longer shows it"
    if run_started is not None and at < run_started:
        return "still found by this run"
    return "awaiting the next run"
