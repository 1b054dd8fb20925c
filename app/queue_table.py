"""The queue's tables and pager: cases (one row each, one column per kind of money) and groups of cases."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import streamlit as st

from app import components as ui
from app import masking_ui
from closedloop.access import Principal

CASE_TABLE = (
    "status", "severity", "title", "check_id", "leakage_rc", "exposure_rc", "cash_rc", "compliance_findings",
    "client_name", "erp_invoice_no", "sow_project", "owner_team", "assignee", "age_days",
)  # fmt: skip
COMPACT_TABLE = (
    "status",
    "severity",
    "title",
    "leakage_rc",
    "exposure_rc",
    "cash_rc",
    "client_name",
    "erp_invoice_no",
)
GROUP_TABLE = ("label", "cases", "leakage_rc", "exposure_rc", "cash_rc", "compliance_findings", "s1")
GROUP_LABELS = {
    "check": "Check",
    "client": "Client",
    "sow": "SOW / project",
    "owner": "Owner team",
    "age": "Age",
}


def _money_columns(currency: str) -> dict[str, Any]:
    """One column per kind of money (never a total across them); compliance is a count."""
    sym = "$" if currency == "USD" else currency

    def col(label: str, meaning: str) -> Any:
        return st.column_config.NumberColumn(
            f"{label} {sym}", format="accounting", width="small", help=f"{meaning}, in {currency}"
        )

    return {
        "leakage_rc": col("Leakage", "Revenue lost unless acted on"),
        "exposure_rc": col("Exposure", "Amount at risk: unbilled, uncontracted or unapproved"),
        "cash_rc": col("Cash", "Amount whose collection is delayed or invisible"),
        "compliance_findings": st.column_config.NumberColumn(
            "Compl.", format="%d", width=60, help="Compliance findings (a count: no money)"
        ),
    }


def totals(t: dict[str, Any], currency: str, *, compact: bool = False) -> None:
    """The filtered queue's totals: cases, then each kind of money as its own figure, compliance as a count."""
    kinds = (("leakage_rc", "Leakage", "leakage_expected_rc", "expected loss"),
             ("exposure_rc", "Exposure", None, None), ("cash_rc", "Cash", "cash_cost_rc", "cost of delay"))  # fmt: skip
    if compact:
        money = " · ".join(f"{label.lower()} **{ui.plain(ui.money(t[col], currency, compact=True))}**"
                           for col, label, *_ in kinds)  # fmt: skip
        st.markdown(
            f"**{t['cases']:,}** cases · {money} · compliance **{t['compliance_findings']:,}** findings"
        )
        return
    m = st.columns(5)
    m[0].metric(
        "Cases", f"{t['cases']:,}", help=f"{t['findings'] or 0:,} findings grouped into cases", border=True
    )
    for box, (col, label, second, second_label) in zip(m[1:4], kinds, strict=True):
        extra = t.get(second) if second else None
        box.metric(
            label,
            ui.money(t[col], currency, compact=True),
            delta=f"{second_label} {ui.money(extra, currency, compact=True)}" if extra else None,
            delta_color="off",
            delta_arrow="off",
            help=f"{ui.money(t[col], currency)}: each case's {label.lower()} counted once",
            border=True,
        )
    m[4].metric("Compliance", f"{t['compliance_findings']:,} findings", help="A count: no money", border=True)


def cases(
    df: pl.DataFrame,
    *,
    key: str,
    currency: str,
    height: int = 460,
    compact: bool = False,
    who: Principal | None = None,
) -> list[int]:
    """The cases on this page; returns the row numbers selected (the box left of each row). Columns masked for
    `who` show as •••."""
    shown = df.with_columns(
        ui.badge_column("status"),
        pl.coalesce(pl.col("project_name"), pl.col("project_id"), pl.col("sow_id")).alias("sow_project"),
        pl.when(pl.col("compliance_findings") > 0)
        .then(pl.col("compliance_findings"))
        .alias("compliance_findings"),
    ).select("case_key", *CASE_TABLE)  # the key travels with the rows, not shown (column_order)
    shown, config = masking_ui.frame(
        shown,
        who,
        {
            "status": st.column_config.TextColumn("Status", width=110),
            "severity": st.column_config.TextColumn("Sev", width=40),
            "title": st.column_config.TextColumn("Root cause", width="medium"),
            "check_id": st.column_config.TextColumn("Check", width=70),
            **_money_columns(currency),
            "client_name": st.column_config.TextColumn("Client", width="small"),
            "erp_invoice_no": st.column_config.TextColumn("Invoice", width="small"),
            "sow_project": st.column_config.TextColumn(
                "Project / SOW", width="small", help="The project's name, else its id, else the SOW's id"
            ),
            "owner_team": st.column_config.TextColumn("Owner team", width="small"),
            "assignee": st.column_config.TextColumn("Assignee", width="small"),
            "age_days": st.column_config.NumberColumn("Age (days)", format="%d", width=70),
        },
    )
    event = st.dataframe(
        shown,
        key=key,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        placeholder="",
        height=min(height, 35 * (shown.height + 1) + 3),
        column_order=COMPACT_TABLE if compact else CASE_TABLE,
        column_config=config,
    )
    return list(event.selection.rows) if event and event.selection else []


def groups(
    df: pl.DataFrame,
    *,
    key: str,
    by: str,
    currency: str,
    chosen: int | None = None,
    who: Principal | None = None,
) -> list[int]:
    """One row per group with its count and money per kind; returns the selected row (the group to expand)."""
    shown = df.with_columns(
        pl.when(pl.col("compliance_findings") > 0)
        .then(pl.col("compliance_findings"))
        .alias("compliance_findings")
    )
    shown, config = masking_ui.frame(
        shown.select(GROUP_TABLE),
        who,
        {
            "label": st.column_config.TextColumn(GROUP_LABELS.get(by, by), width="large"),
            "cases": st.column_config.NumberColumn("Cases", format="localized", width="small"),
            **_money_columns(currency),
            "s1": st.column_config.NumberColumn("S1 cases", format="%d", width="small"),
        },
    )
    event = st.dataframe(
        shown,
        key=key,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        selection_default={"selection": {"rows": [chosen]}} if chosen is not None else None,
        placeholder="",
        height=min(320, 35 * (df.height + 1) + 3),
        column_order=GROUP_TABLE,
        column_config=config,
    )
    return list(event.selection.rows) if event and event.selection else []


def opened(key: str, rows: list[int]) -> int | None:
    """The row just added to a table's selection (a click opens that case), else None."""
    before = st.session_state.get(f"_rows_{key}", [])
    st.session_state[f"_rows_{key}"] = rows
    new = [r for r in rows if r not in before]
    return new[-1] if len(new) == 1 else None


def _go(param: str, number: int) -> None:
    st.query_params[param] = str(number)


def pager(total: int, size: int, number: int, *, param: str, what: str = "cases") -> None:
    """« ‹ Prev · page N of M (rows a–b of T) · Next › », the page in the URL under `param`."""
    pages = max(math.ceil(total / size), 1)
    first, last = (number - 1) * size + 1, min(number * size, total)
    c = st.columns([1, 1.5, 4, 1.5, 1], vertical_alignment="center")
    c[0].button(
        "«", help="First page", key=f"{param}_first", disabled=number <= 1, on_click=_go, args=(param, 1)
    )
    c[1].button("‹ Prev", key=f"{param}_prev", disabled=number <= 1, on_click=_go, args=(param, number - 1))
    c[2].markdown(
        f"Page **{number:,}** of **{pages:,}** · {what} {first:,}–{last:,} of {total:,}"
        if total
        else f"No {what} on this page."
    )
    c[3].button(
        "Next ›", key=f"{param}_next", disabled=number >= pages, on_click=_go, args=(param, number + 1)
    )
    c[4].button(
        "»",
        help="Last page",
        key=f"{param}_last",
        disabled=number >= pages,
        on_click=_go,
        args=(param, pages),
    )


def page_number(param: str, total: int, size: int) -> int:
    """The page the URL asks for, kept within 1..pages (a stale or hostile value is not an error)."""
    try:
        n = int(ui.url_one(param, "1"))
    except ValueError:
        n = 1
    return min(max(n, 1), max(math.ceil(total / size), 1))
