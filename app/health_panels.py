"""The Data health page's panels: each takes what app/queries_health.py returned and draws one section."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import plotly.express as px
import polars as pl
import streamlit as st

from app import components as ui
from app import queries_health as qh

OK = ("ok", "complete", "succeeded")
STATUS_COLORS = {
    "ok": "#0F766E",
    "passed": "#0F766E",
    "partial": "#CA8A04",
    "warning": "#CA8A04",
    "failed": "#B91C1C",
    "breach": "#B91C1C",
    "killed": "#64748B",
    "running": "#2563EB",
}
MARK = {
    "failed": "✕",
    "breach": "✕",
    "warning": "!",
    "error": "?",
    "skipped": "·",
    "passed": "✓",
    "ok": "✓",
    "done": "✓",
}
MARK |= {"pending": "…", "running": "▸"}  # run-now requests
HISTORY_HELP = f"Oldest to newest over the last {qh.HISTORY_RUNS} runs: ✓ passed · ! warning · ✕ failed · ? could not run · · skipped"


def _mark(df: pl.DataFrame) -> pl.DataFrame:
    """Status with its symbol, readable without colour."""
    return df.with_columns(
        (pl.col("status").replace_strict(MARK, default="•") + " " + pl.col("status")).alias("status")
    )


def tiles(streams: pl.DataFrame, mons: pl.DataFrame, failed: pl.DataFrame, suppressed: pl.DataFrame) -> None:
    """The page in four numbers: failed sources, failing contracts, monitor breaches, suppressed checks."""
    c = st.columns(4)
    n_failed = failed["source"].n_unique() if not failed.is_empty() else 0
    c[0].metric("Sources failed", n_failed, help="Collection errors, critical contracts or monitor breaches.")
    bad = streams.filter(pl.col("status") == "failed").height if not streams.is_empty() else 0
    warn = streams.filter(pl.col("status") == "warning").height if not streams.is_empty() else 0
    c[1].metric(
        "Contracts failing", bad, help=f"Streams or tables with a critical failure; {warn} with warnings."
    )
    breaches = mons.filter(pl.col("status") == "breach").height if not mons.is_empty() else 0
    c[2].metric("Monitor breaches", breaches, help="Freshness, volume or schema drift beyond its threshold.")
    c[3].metric(
        "Checks suppressed",
        suppressed.height,
        help="Reported suppressed, never passed, when an input failed.",
    )


def failures(failed: pl.DataFrame, suppressed: pl.DataFrame) -> None:
    """Which sources failed this run and why, and the checks their failure suppressed."""
    st.subheader("Failed sources and suppressed checks")
    if failed.is_empty() and suppressed.is_empty():
        with st.container(border=True):
            st.markdown(
                ":green[:material/verified:] **Every source passed collection, contracts and monitors.**"
            )
            st.caption("No check was suppressed in this run: every finding count is judged on whole data.")
        return
    for source in failed["source"].unique(maintain_order=True).to_list():
        mine = failed.filter(pl.col("source") == source)
        checks = suppressed.filter(pl.col("because_of").str.split(", ").list.contains(source))
        with st.container(border=True):
            n = checks.height
            st.markdown(
                f":red[:material/error:] **{ui.plain(source)}** failed this run · "
                + (
                    f"{n} check{'s' if n != 1 else ''} suppressed because of it"
                    if n
                    else "no check suppressed because of it"
                )
            )
            st.markdown(
                "\n".join(
                    f"- **{ui.plain(r['why'])}** — {ui.plain(r['detail'])}"
                    for r in mine.iter_rows(named=True)
                )
            )
    if not suppressed.is_empty():
        st.markdown("**Checks suppressed in this run** (reported as suppressed, never as passed)")
        ui.table(
            suppressed.select("check_id", "title", "base_severity", "because_of", "owner", "inputs"),
            column_config={"base_severity": "severity", "because_of": "because of", "inputs": "reads"},
        )


def sources(h: dict[str, pl.DataFrame], failed: pl.DataFrame) -> None:
    """One card per source: rows, streams, time, last good collection and its error."""
    judged = set(failed["source"].to_list()) if not failed.is_empty() else set()
    st.subheader("Sources in this run")
    src = h.get("source_run", pl.DataFrame())
    if src.is_empty():
        ui.empty("This run recorded no source collections.", "`closedloop run` writes one row per stream.")
        return
    per = src.group_by("source", maintain_order=True).agg(
        pl.col("system").first(),
        pl.col("transport").first(),
        pl.col("rows").sum(),
        pl.col("seconds").sum(),
        (~pl.col("status").is_in((*OK, "absent"))).sum().alias("failed"),  # absent: the estate lacks it
        (pl.col("status") == "absent").sum().alias("absent"),
        pl.len().alias("streams"),
        pl.col("error").drop_nulls().first().alias("error"),
    )
    last_ok = h.get("last_ok", pl.DataFrame({"source": [], "last_success": []}))
    last = dict(zip(last_ok["source"].to_list(), last_ok["last_success"].to_list(), strict=True))
    cols = st.columns(min(5, per.height))
    for i, s in enumerate(per.iter_rows(named=True)):
        with cols[i % len(cols)].container(border=True):
            bad = s["failed"] or s["source"] in judged
            icon = ":green[:material/check_circle:]" if not bad else ":red[:material/error:]"
            st.markdown(
                f"{icon} **{ui.plain(s['source'])}** · {ui.plain(s['system'])} · {ui.plain(s['transport'])}"
            )
            st.metric("Rows", f"{int(s['rows'] or 0):,}")
            ls = last.get(s["source"])
            st.caption(
                f"{s['streams']} stream{'s' if s['streams'] != 1 else ''}"
                f"{f' ({absent} absent)' if (absent := s['absent']) else ''} · {float(s['seconds'] or 0):.1f}s  \n"
                f"Last good: {ls.strftime('%Y-%m-%d %H:%M UTC') if ls else 'never'}"
            )
            if s["error"]:
                st.error(str(s["error"])[:300], icon=":material/error:")
            elif s["source"] in judged:
                st.error("Collected, then failed its data checks (above).", icon=":material/error:")
    # Closed sections build nothing: their tables are sent when someone opens them (a rerun), not on every paint.
    streams_box = st.expander(
        f"All {src.height} streams, and the canonical tables they fed", key="all_streams", on_change="rerun"
    )
    if not streams_box.open:
        return
    with streams_box:
        ui.table(src, column_config={"seconds": st.column_config.NumberColumn(format="%.1f s")})
        snap = h.get("snapshot", pl.DataFrame())
        if not snap.is_empty():
            ui.table(
                snap, column_config={"row_count": st.column_config.NumberColumn("rows", format="localized")}
            )


def contracts(streams: pl.DataFrame, fails: pl.DataFrame) -> None:
    """Contracts per stream with pass/fail history, then each failing expectation with its sample keys."""
    st.subheader("Data contracts")
    st.caption(
        "Great Expectations suites per raw stream and canonical table. A **critical** failure fails the source "
        "for the run (its checks are suppressed); a **warning** is reported and the run goes on."
    )
    if streams.is_empty():
        ui.empty(
            "No contract results in this run.",
            "Contracts run on every `closedloop run` unless `[contracts] enabled = false`.",
        )
        return
    ui.table(
        _mark(streams).select(
            "status",
            "source",
            "stream",
            "history",
            "expectations",
            "critical",
            "warning",
            "failing_rows",
            "runs_failed",
        ),
        max_height=360,
        column_config={
            "history": st.column_config.TextColumn("last runs", help=HISTORY_HELP),
            "critical": st.column_config.NumberColumn("critical ✕"),
            "warning": st.column_config.NumberColumn("warning !"),
            "failing_rows": st.column_config.NumberColumn("failing rows", format="localized"),
            "runs_failed": st.column_config.NumberColumn(
                "runs failed", help="Runs with a critical failure, of the last runs shown."
            ),
        },
    )
    if fails.is_empty():
        st.caption(
            f":green[:material/check:] All {int(streams['expectations'].sum()):,} expectations passed in this run."
        )
        return
    st.markdown(f"**Failing expectations in this run** ({fails.height})")
    for r in fails.head(30).iter_rows(named=True):
        what = (
            "could not run"
            if r["exception"]
            else f"{int(r['unexpected_count'] or 0):,} of {int(r['element_count'] or 0):,} rows"
        )
        icon = "✕" if r["severity"] == "critical" and not r["exception"] else ("?" if r["exception"] else "!")
        box = st.expander(
            f"{icon} {r['severity']} · {r['source']} · {r['stream']} · {r['label']} — {what}",
            key=f"expectation_{r['source']}_{r['stream']}_{r['label']}",
            on_change="rerun",
        )
        if not box.open:
            continue
        with box:
            if r["exception"]:
                st.code(str(r["exception"])[:1000], language=None)
            samples = json.loads(r["sample_failing_keys"] or "[]")
            if samples:
                st.caption(
                    f"Sample failing keys ({len(samples)} kept; `[contracts] sample_keys` sets how many)"
                )
                ui.table(pl.DataFrame(samples, infer_schema_length=None).cast(pl.String), max_height=260)
            elif not r["exception"]:
                st.caption("No row keys: this expectation judges the table as a whole.")


def describe(r: dict[str, Any]) -> str:
    """The numbers behind a monitor's verdict, in words."""
    d = json.loads(r.get("detail") or "{}")
    v, t = r.get("value"), r.get("threshold")
    if r["status"] == "skipped" and d.get("why"):
        return f"not judged: {d['why']}"
    if r["monitor"] == "freshness":
        lag, age = d.get("change_lag_hours"), d.get("snapshot_age_hours")
        if lag is None:
            parts = ["no change timestamp"]
        elif lag < 0:  # stamped after the instant it is judged at: a back-dated run or a clock ahead
            parts = [f"newest change {-lag:,.1f} h after the evaluation time"]
        else:
            parts = [f"newest change {lag:,.1f} h ago"]
        if age is not None:
            parts.append(f"snapshot {age:,.1f} h old")
        return ", ".join(parts) + (f" (SLA {t:g} h)" if t else " (no SLA)")
    if r["monitor"] == "volume":
        if t is None:
            return f"{v or 0:,.0f} rows; {d.get('history', 0)} good runs so far (needs more to judge)"
        return f"{v or 0:,.0f} rows vs median {t:,.0f} (×{d.get('ratio', 0):.2f}, {d.get('history', 0)} runs)"
    if r["monitor"] == "schema":
        parts = [f"{k}: {', '.join(x) if isinstance(x, list) else x}" for k, x in d.items()]
        return "; ".join(parts) or "no change since the last published run"
    return json.dumps(d)[:200]


def monitors(mons: pl.DataFrame) -> None:
    """Freshness, volume and schema drift per source or stream: verdict, the numbers, recent history."""
    st.subheader("Monitors")
    if mons.is_empty():
        ui.empty(
            "No monitor results in this run.",
            "Freshness, volume and schema-drift monitors run on every `closedloop run`.",
        )
        return
    counts = {
        m: mons.filter(pl.col("monitor") == m)["status"].value_counts().rows()
        for m in ("freshness", "volume", "schema")
    }
    cols = st.columns(3)
    for col, (m, label) in zip(
        cols, (("freshness", "Freshness"), ("volume", "Volume"), ("schema", "Schema drift")), strict=True
    ):
        c = dict(counts[m])
        col.markdown(
            f"**{label}** · :red[{c.get('breach', 0)} ✕] · :orange[{c.get('warning', 0)} !] · "
            f":green[{c.get('ok', 0)} ✓] · {c.get('skipped', 0)} not judged"
        )
    shown = mons.with_columns(
        pl.Series("numbers", [describe(r) for r in mons.iter_rows(named=True)], dtype=pl.String)
    ).with_columns(
        pl.when(pl.col("stream") == "*").then(pl.lit("(all)")).otherwise(pl.col("stream")).alias("stream")
    )
    problems = shown.filter(pl.col("status").is_in(["breach", "warning"]))
    only = st.toggle("Only breaches and warnings", value=not problems.is_empty(), key="mon_only")
    view = problems if only else shown
    if view.is_empty():
        st.caption(":green[:material/check:] No breach or warning in this run.")
        return
    ui.table(
        _mark(view).select("status", "monitor", "source", "stream", "numbers", "history"),
        max_height=380,
        column_config={"history": st.column_config.TextColumn("last runs", help=HISTORY_HELP)},
    )


def latest_attempt(ledger: pl.DataFrame, published_id: str) -> None:
    """Warn at the top when the newest attempt failed and was not published: the page shows older data."""
    if ledger.is_empty():
        return
    latest = ledger.sort("started_at", descending=True).row(0, named=True)
    if latest["run_id"] == published_id or latest["status"] in ("ok", "running") or latest["published"]:
        return
    st.warning(
        f"The latest attempt `{latest['run_id']}` ended **{latest['status']}** and was not published; "
        f"this page shows the last published run. {ui.plain((latest['errors'] or '')[:600])}",
        icon=":material/warning:",
    )


def timeline(h: dict[str, pl.DataFrame], ledger: pl.DataFrame) -> None:
    """Every attempt (the ledger), every run over time coloured by status, and the published runs: one tab
    each. Only the open tab is built; the ledger opens first, so the page's first paint draws no chart (Plotly
    costs about 0.8 s of the browser's main thread to start) and a tab click reruns for the timeline."""
    st.subheader("Runs")
    hist = h.get("run_history", pl.DataFrame())
    tab_ledger, tab_time, tab_pub = st.tabs(
        ["Run ledger", "Timeline", "Published runs"], key="runs_view", on_change="rerun"
    )
    if tab_ledger.open:
        with tab_ledger:
            st.caption(
                "Every attempt from the ops store, including runs that failed or were killed and never published."
            )
            if ledger.is_empty():
                ui.empty(
                    "The ops store has no runs recorded.", "`closedloop run` writes one row per attempt."
                )
            else:
                ui.table(ledger, max_height=300)
    if tab_time.open:
        with tab_time:
            _run_chart(hist, ledger)
    if tab_pub.open:
        with tab_pub:
            if hist.is_empty():
                ui.empty("No published run history yet.")
            else:
                ui.table(hist, max_height=300)


def _run_chart(hist: pl.DataFrame, ledger: pl.DataFrame) -> None:
    """Runs over time: the ledger's attempts and published runs it does not hold, by status."""
    cols = ["run_id", "started_at", "status", "trigger", "seconds"]
    frames = []
    if not ledger.is_empty():
        frames.append(ledger.select(*cols, pl.col("published").fill_null(False)))
    if not hist.is_empty():
        known = set(ledger["run_id"].to_list()) if not ledger.is_empty() else set()
        frames.append(
            hist.filter(~pl.col("run_id").is_in(list(known))).select(*cols, pl.lit(True).alias("published"))
        )
    runs = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
    if runs.is_empty():
        ui.empty(
            "No runs recorded yet.",
            "`closedloop run` (or the schedule under `closedloop serve`) records each attempt.",
        )
        return
    plot = runs.with_columns(
        pl.when(pl.col("published"))
        .then(pl.lit("published"))
        .otherwise(pl.lit("not published"))
        .alias("published"),
        pl.col("seconds").fill_null(0.0),
    ).sort("started_at")
    fig = px.scatter(
        plot.to_pandas(),
        x="started_at",
        y="seconds",
        color="status",
        symbol="published",
        symbol_map={"published": "circle", "not published": "x"},
        hover_data={"run_id": True, "trigger": True},
        labels={"started_at": "", "seconds": "run time (s)", "published": ""},
        color_discrete_map=STATUS_COLORS,
    )
    fig.update_traces(marker={"size": 11})
    fig.update_yaxes(rangemode="tozero")
    first, last = plot["started_at"].min(), plot["started_at"].max()
    if last - first < dt.timedelta(hours=2):  # one run (or a burst): show hours, not milliseconds
        fig.update_xaxes(range=[first - dt.timedelta(hours=1), last + dt.timedelta(hours=1)])
    fig.update_layout(legend_title_text="")
    ui.plot(fig, key="run_timeline", height=260)


def coverage(cov: pl.DataFrame) -> None:
    """How much of the catalog this firm's data lets closedloop judge, and the setting that fills each gap."""
    st.subheader("Coverage")
    if cov.is_empty():
        st.caption("This run has no coverage record (it predates coverage).")
        return
    total = cov.height
    full = cov.filter(pl.col("status") == "covered").height
    gaps = cov.filter(pl.col("status") != "covered")
    st.markdown(
        f"**{full} of {total}** checks and KPIs are covered by this firm's data;"
        f" {gaps.filter(pl.col('status') == 'partly covered').height} partly,"
        f" {gaps.filter(pl.col('status') == 'not covered').height} not covered."
    )
    if gaps.is_empty():
        st.caption("Every check and KPI reads inputs the sources fill, with every value mapped.")
        return
    st.caption(
        "A check that is **not covered** does not run (never 0 findings); a **partly covered** one leaves the"
        " flows holding unmapped values unjudged. The last column is the setting that fills the gap."
    )
    ui.table(
        gaps.select(
            pl.col("item_id").alias("check / KPI"),
            pl.col("status"),
            pl.col("missing")
            .map_elements(lambda m: "; ".join(json.loads(m)), return_dtype=pl.String)
            .alias("what is missing"),
            pl.col("not_judged").alias("findings not judged"),
            pl.col("settings")
            .map_elements(lambda s: ", ".join(json.loads(s)), return_dtype=pl.String)
            .alias("set in closedloop.toml"),
        ),
        max_height=320,
    )
