"""Benchmark body for the queue stage: the case queue's queries on the published run, as the page runs them.

Run as `python -m closedloop.bench_queue CONFIG [--repeat K]`; prints JSON. Each repeat starts with empty
caches (the first visit after a publish): the first page is what /findings computes for its first render
(filter options, per-kind totals, page 1 of the active cases); a group expansion is what selecting a group
computes (its first page of cases and its member keys, for a bulk action on the whole group), timed for the
largest group of each grouping.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import sys
import time


def _clear() -> None:
    import streamlit as st

    st.cache_data.clear()


def main(config: str, repeat: int = 3) -> dict:
    """Time the queue's first page and its group expansions; median over `repeat` cold repeats."""
    import os

    os.environ["STREAMLIT_LOGGER_LEVEL"] = "error"  # "no runtime" warnings: a bare process, on purpose
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    os.environ["CLOSEDLOOP_CONFIG"] = config
    from app import queries as q
    from app import queries_cases as qc
    from closedloop import access, settings
    from closedloop.workflow import ACTIVE, Workflow, overlay

    run = q.published()
    if run is None:
        raise SystemExit(f"{config}: no published run")
    info = q.run_info(run.path)
    as_of = info.get("as_of")
    states = Workflow(run.ops_url, subject="case").states()
    ov = tuple(overlay(states, info.get("started_at"), dt.datetime.now(dt.UTC).date()))
    f = q.Filters(lists=(("status", tuple(ACTIVE)),))
    # The queue as finance sees it: the whole firm's cases, with amounts (the firm's own masking applies).
    who = access.policy(settings.load(config).values.get("access", {})).as_role("finance", actor="bench")
    first: list[float] = []
    groups: dict[str, list[float]] = {by: [] for by in qc.GROUPS}
    listing: dict[str, list[float]] = {by: [] for by in qc.GROUPS}
    detail: dict = {}
    for _ in range(repeat):
        _clear()
        t0 = time.perf_counter()
        qc.filter_options(run.path, run.run_id, who)
        totals = qc.totals(run, as_of, f, ov, who)
        rows = qc.page(run, as_of, f, ov, 1, 50, None, None, who=who)
        first.append(time.perf_counter() - t0)
        detail |= {"cases": totals["cases"], "first_page_rows": rows.height}
        for by in qc.GROUPS:
            t0 = time.perf_counter()
            g = qc.groups(run, as_of, f, ov, by, who)
            listing[by].append(time.perf_counter() - t0)
            if g.is_empty():
                continue
            biggest = g.sort("cases", descending=True).row(0, named=True)
            t0 = time.perf_counter()
            qc.page(run, as_of, f, ov, 1, 50, by, biggest["value"], who=who)
            qc.group_keys(run, as_of, f, ov, by, biggest["value"], who)
            groups[by].append(time.perf_counter() - t0)
            detail[f"groups_{by}"] = g.height
            detail[f"largest_group_{by}"] = biggest["cases"]
    med = {by: round(statistics.median(v), 4) for by, v in groups.items() if v}
    return {
        "first_page_seconds": round(statistics.median(first), 4),
        "first_page_runs": [round(x, 4) for x in first],
        "group_list_seconds": {by: round(statistics.median(v), 4) for by, v in listing.items() if v},
        "group_expansion_seconds": med,
        "group_expansion_max_seconds": max(med.values(), default=None),
        **detail,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(json.dumps(main(args.config, args.repeat)))
    sys.stdout.flush()
