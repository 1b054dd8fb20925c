"""Data health for the data team: did every source arrive, how fresh, how big, and what failed."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from app import catalog
from app import components as ui
from app import queries as q

OK = ("ok", "complete", "succeeded")

run = q.published()
ui.header("Data health", "Sources, freshness and the run ledger", run)
if run is None:
    ui.no_run()
    st.stop()
h = q.health(run.path)

st.subheader("Sources in this run")
src = h.get("source_run", pl.DataFrame())
if src.is_empty():
    ui.empty("This run recorded no source collections.")
else:
    per = src.group_by("source", maintain_order=True).agg(
        pl.col("system").first(),
        pl.col("transport").first(),
        pl.col("rows").sum(),
        pl.col("seconds").sum(),
        (~pl.col("status").is_in(OK)).sum().alias("failed"),
        pl.len().alias("streams"),
        pl.col("error").drop_nulls().first().alias("error"),
    )
    last_ok = h.get("last_ok", pl.DataFrame({"source": [], "last_success": []}))
    last = dict(zip(last_ok["source"].to_list(), last_ok["last_success"].to_list(), strict=True))
    cols = st.columns(min(4, per.height))
    for i, s in enumerate(per.iter_rows(named=True)):
        with cols[i % len(cols)].container(border=True):
            icon = ":green[:material/check_circle:]" if not s["failed"] else ":red[:material/error:]"
            st.markdown(
                f"{icon} **{ui.plain(s['source'])}** · {ui.plain(s['system'])} · {ui.plain(s['transport'])}"
            )
            st.metric("Rows", f"{int(s['rows'] or 0):,}")
            ls = last.get(s["source"])
            st.caption(
                f"{s['streams']} streams · {float(s['seconds'] or 0):.1f}s  \n"
                f"Last successful collection: {ls.strftime('%Y-%m-%d %H:%M UTC') if ls else 'never'}"
            )
            if s["error"]:
                st.error(str(s["error"])[:300], icon=":material/error:")
    with st.expander(f"All {src.height} streams"):
        ui.table(src, column_config={"seconds": st.column_config.NumberColumn(format="%.1f s")})

st.subheader("Data contracts and monitors")
st.caption(
    "Contracts (expectations per table) and freshness, volume and schema-drift monitors plug in here. "
    "Shown now: what every run records for each canonical table — snapshot time, rows, extract status, "
    "the newest source-side change, its freshness SLA — and the fields the collectors found missing or extra."
)
snap = h.get("snapshot", pl.DataFrame())
if snap.is_empty():
    ui.empty("No snapshot metadata in this run.", "canon.snapshot_meta is written when the run maps sources.")
else:
    snap = snap.with_columns(
        ((pl.col("snapshot_ts") - pl.col("max_modified_at")).dt.total_minutes()).alias("lag_min"),
    ).with_columns(
        pl.when(pl.col("extract_status") != "complete")
        .then(pl.lit("✕ extract failed"))
        .when(pl.col("sla_min").is_not_null() & (pl.col("lag_min") > pl.col("sla_min")))
        .then(pl.lit("! stale"))
        .when(pl.col("lag_min").is_null())
        .then(pl.lit("– no change timestamp"))
        .otherwise(pl.lit("✓ fresh"))
        .alias("monitor")
    )
    ui.table(
        snap.select(
            "monitor",
            "source_system",
            "table_name",
            "row_count",
            "snapshot_ts",
            "max_modified_at",
            "lag_min",
            "sla_min",
            "extract_status",
        ),
        column_config={
            "lag_min": st.column_config.NumberColumn("lag (min)", format="%d"),
            "sla_min": st.column_config.NumberColumn("SLA (min)", format="%d"),
            "row_count": st.column_config.NumberColumn("rows", format="localized"),
        },
    )
drift = (
    src.filter(pl.col("missing_fields").is_not_null() | pl.col("extra_fields").is_not_null())
    if not src.is_empty()
    else src
)
if not drift.is_empty():
    st.markdown("**Schema drift seen by the collectors**")
    ui.table(drift.select("source", "stream", "missing_fields", "extra_fields"))

left, right = st.columns(2)
with left:
    st.subheader("Published runs")
    hist = h.get("run_history", pl.DataFrame())
    if hist.is_empty():
        ui.empty("No run history yet.")
    else:
        plot = hist.sort("started_at").with_columns(
            pl.col("started_at").dt.strftime("%m-%d %H:%M").alias("run")
        )
        fig = px.bar(
            plot.to_pandas(),
            x="run",
            y="seconds",
            color="status",
            labels={"run": "", "seconds": "seconds"},
            color_discrete_map={"ok": "#0F766E", "partial": "#CA8A04", "failed": "#B91C1C"},
        )
        st.plotly_chart(ui.style(fig, 240), key="run_seconds")
        ui.table(hist, max_height=300)
with right:
    st.subheader("Run ledger")
    st.caption(
        "Every attempt from the ops store, including runs that failed or were killed and never published."
    )
    ledger = catalog.run_ledger(run.ops_url)
    if ledger.is_empty():
        ui.empty("The ops store has no runs recorded.", "`closedloop run` writes one row per attempt.")
    else:
        ui.table(ledger)
