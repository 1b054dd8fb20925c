"""Masked values on the page: shown as ••• (never as $0 or a blank that looks like missing data), with a caption
saying which kinds of value the person's role masks. The masking itself happens in the queries (app/queries*.py)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from closedloop import access
from closedloop.access import MASKED, Principal


def columns(df: pl.DataFrame, who: Principal | None) -> set[str]:
    """The frame's columns masked for the principal."""
    return access.masked_columns(df.columns, who) if who is not None else set()


def frame(
    df: pl.DataFrame, who: Principal | None, config: dict[str, Any]
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The frame with each masked column shown as MASKED text, and its column config made a text column."""
    cols = columns(df, who)
    if not cols:
        return df, config
    out = dict(config)
    for c in cols:
        old = config.get(c) or {}
        label = old.get("label") if isinstance(old, dict) else None
        out[c] = st.column_config.TextColumn(label or c, width=(old.get("width") if isinstance(old, dict) else None),
                                             help="Masked for your role")  # fmt: skip
    return df.with_columns([pl.lit(MASKED, dtype=pl.String).alias(c) for c in cols]), out


def caption(who: Principal | None, names: Any = None) -> None:
    """'Masked for your role: amounts, rates (shown as •••)': the kinds masked among `names` (all when None)."""
    if who is None or not who.masked:
        return
    kinds = sorted(
        who.masked
        if names is None
        else {k for n in names if (k := access.value_kind(str(n))) and who.masks(k)}
    )
    if kinds:
        roles = ", ".join(sorted(who.roles)) or "no role"
        st.caption(f":material/lock: Masked for your role ({roles}): {', '.join(kinds)}, shown as {MASKED}.")
