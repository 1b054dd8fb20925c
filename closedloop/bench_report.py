"""The benchmark's results: the issue's targets, growth exponents, the tables (rich and markdown), the docs.

`closedloop bench --write-docs` keeps the latest run in docs/bench/latest.{json,md} and in the README
between the bench markers, so the published figures are always ones the command printed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
from pathlib import Path

from closedloop.bench import Bench, Row
from closedloop.demo.firm.params import TIER_PEOPLE

ROOT = Path(__file__).resolve().parents[1]
README_START, README_END = "<!-- bench:latest -->", "<!-- /bench:latest -->"
OUR_PROCESSES = (
    "generate",
    "pipeline",
    "checks",
)  # peak RSS target: our code, not the baselines or the browser


def sized_tier(tier: str, people: int | None) -> str | None:
    """The tier whose size this run has (a tier's headcount), or None when --people made it another size."""
    return tier if people is None or people == TIER_PEOPLE[tier] else None


def tier_for(people: int) -> str:
    """The tier nearest a headcount on a log scale: the firm shape the generator should use at that size."""
    return min(TIER_PEOPLE, key=lambda t: abs(math.log(people / TIER_PEOPLE[t])))


def summarise(b: Bench, rows: list[Row]) -> dict:
    """Everything one benchmark measured, with its totals, baseline ratios and targets, as JSON-ready data."""
    by_name = {r.name: r for r in rows}
    counted = [r for r in rows if r.counted and r.wall]
    steps = sum(r.wall.median for r in counted)
    dominant = max(counted, key=lambda r: r.wall.median, default=None)
    run = by_name.get("run end to end")
    ratios = _ratios(by_name)
    peaks = [r.peak_rss_mb for r in rows if r.stage in OUR_PROCESSES and r.peak_rss_mb]
    baseline = next((r.detail for r in rows if r.stage == "baselines" and r.detail.get("ratios")), {})
    return {
        "tier": b.tier,
        "people": b.people or TIER_PEOPLE[b.tier],
        "sized_tier": sized_tier(b.tier, b.people),
        "repeat": b.repeat,
        "seed": b.seed,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "stages": [r.as_dict() for r in rows],
        "total": {
            "steps_seconds": round(steps, 3),  # the run's steps, each timed alone, summed (medians)
            "end_to_end_seconds": round(run.wall.median, 3) if run and run.wall else None,
            "dominant": dominant.name if dominant else None,
            "dominant_share": round(dominant.wall.median / steps, 3) if dominant and steps else None,
        },
        "baselines": {"ratios": ratios, "reported": baseline} if ratios else None,
        "peak_rss_mb": max(peaks, default=None),
        "targets": targets(b, by_name, ratios, max(peaks, default=None)),
    }


def _median(by_name: dict[str, Row], name: str) -> float | None:
    row = by_name.get(name)
    return row.wall.median if row and row.wall else None


def _ratios(by_name: dict[str, Row]) -> dict[str, float]:
    """Our engine's time against each baseline's, from their medians (>1 means the engine is faster)."""
    engine = _median(by_name, "baseline: engine")
    out = {}
    for key, name in (("pandas_over_engine", "pandas"), ("gx_over_engine", "Great Expectations")):
        other = _median(by_name, f"baseline: {name}")
        if engine and other:
            out[key] = round(other / engine, 2)
    floor = _median(by_name, "baseline: scan floor")
    if engine and floor:
        out["engine_over_scan_floor"] = round(engine / floor, 2)
    return out


def targets(b: Bench, by_name: dict[str, Row], ratios: dict[str, float], peak_mb: float | None) -> list[dict]:
    """The issue's targets: each with what was measured, the limit, whether it applies at this size, met."""
    size = sized_tier(b.tier, b.people)
    checks, kpis = _median(by_name, "checks"), _median(by_name, "KPIs")
    checks_kpis = checks + kpis if checks is not None and kpis is not None else None
    if checks_kpis is None:  # `--stages checks` alone: the checks stage's own process
        checks_kpis = _median(by_name, "checks + KPIs alone")
    if "run end to end" not in by_name:  # the peak of a whole run; a stage on its own would understate it
        peak_mb = None
    return [
        _target("checks + KPIs at tier m", checks_kpis, "<=", 10, "s", size == "m"),
        _target("checks + KPIs at tier l", checks_kpis, "<=", 60, "s", size == "l"),
        _target("engine faster than pandas", ratios.get("pandas_over_engine"), ">=", 5, "x", True),
        _target("engine faster than GX", ratios.get("gx_over_engine"), ">=", 10, "x", True),
        _target("engine within the scan floor", ratios.get("engine_over_scan_floor"), "<=", 5, "x", True),
        _target("peak RSS at tier l", peak_mb / 1024 if peak_mb else None, "<=", 6, "GB", size == "l"),
        _target("slowest page's first render at tier m", _slowest_page(by_name), "<=", 2, "s", size == "m"),
        _target("trace lookup at tier m", _median(by_name, "trace lookup"), "<=", 0.3, "s", size == "m"),
        _target("queue first page at tier m", _queue(by_name, "page: findings", "queue: first page (queries)"),
                "<=", 2, "s", size == "m"),
        _target("queue group expansion at tier m", _queue(by_name, "queue: group expansion (browser)",
                "queue: group expansion (queries)"), "<=", 0.5, "s", size == "m"),
        _target("load: slowest page's p95 at tier m", _load_p95(by_name, "idle"), "<=", 3, "s", size == "m"),
        _target("load: slowest page's p95 with a run, tier m", _load_p95(by_name, "run"), "<=", 5, "s",
                size == "m"),
    ]  # fmt: skip


def _load_p95(by_name: dict[str, Row], phase: str) -> float | None:
    """The load stage's worst page p95 in one phase (idle, run): what the slowest-served person waits."""
    p95 = [r.detail["p95"] for r in by_name.values()
           if r.stage == "load" and r.detail.get("phase") == phase and "p95" in r.detail]  # fmt: skip
    return max(p95, default=None)


def _queue(by_name: dict[str, Row], browser: str, queries: str) -> float | None:
    """In the browser when the pages stage ran (what a person waits for), else the queue's queries alone."""
    measured = _median(by_name, browser)
    return measured if measured is not None else _median(by_name, queries)


def _slowest_page(by_name: dict[str, Row]) -> float | None:
    """The largest of the pages' median first renders (each page is held to the limit)."""
    medians = [
        m for name in by_name if name.startswith("page: ") if (m := _median(by_name, name)) is not None
    ]
    return max(medians, default=None)


def _target(name: str, measured: float | None, op: str, limit: float, unit: str, applies: bool) -> dict:
    met = None
    if applies and measured is not None:
        met = measured <= limit if op == "<=" else measured >= limit
    value = round(measured, 3) if measured is not None else None
    return {
        "target": name,
        "measured": value,
        "op": op,
        "limit": limit,
        "unit": unit,
        "applies": applies,
        "met": met,
    }


def scaling(summaries: list[dict]) -> dict:
    """Per row, the growth exponent: the least-squares slope of log(median seconds) on log(people)."""
    seconds: dict[str, dict[int, float]] = {}
    for s in summaries:
        for r in s["stages"]:
            if r["wall"] and r["wall"]["median"] > 0:
                seconds.setdefault(r["name"], {})[s["people"]] = r["wall"]["median"]
    return {
        "x": "people",
        "sizes": [s["people"] for s in summaries],
        "seconds": seconds,
        "exponents": {name: _slope(points) for name, points in seconds.items() if len(points) > 1},
        "dominant": {s["people"]: s["total"]["dominant"] for s in summaries},
    }


def _slope(points: dict[int, float]) -> float | None:
    xs, ys = [math.log(x) for x in points], [math.log(y) for y in points.values()]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var, 2) if var else None


# ---- the tables: one set of cells, rendered by rich on stdout and as markdown in the docs

STAGE_HEAD = ["stage", "wall s", "min–max", "CPU s", "peak RSS MB", "rows", "rows/s"]
TARGET_HEAD = ["target", "measured", "limit", "met"]


def _num(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def stage_cells(summary: dict) -> tuple[list[list[str]], list[str]]:
    """The stage table's cells, and the footnotes its error, skipped and uncounted rows point to."""
    rows, notes, marked = [], [], 0
    for r in summary["stages"]:
        name = r["name"]
        if r["stage"] == "generate":
            name += "*"
            notes.append(
                "\\* generate: reported, not counted in the total (a customer's data already exists)"
            )
        why = r["error"] or r["skipped"]
        mark = ""
        if why:
            marked += 1
            mark = f" [{marked}]"
            notes.append(f"[{marked}] {r['name']}: {'skipped, ' if r['skipped'] else 'error: '}{why}")
        if not r["wall"]:
            rows.append([name, ("skipped" if r["skipped"] else "error") + mark, "", "", "", "", ""])
            continue
        w, cpu = r["wall"], r["cpu"]
        rows.append([
            name + mark, _num(w["median"]), f"{_num(w['min'])}–{_num(w['max'])}",
            _num(cpu["median"]) if cpu else "—", _num(r["peak_rss_mb"], 0), _num(r["rows"], 0),
            _num(r["rows_per_s"], 0),
        ])  # fmt: skip
    total = summary["total"]
    share = f" ({total['dominant_share']:.0%})" if total["dominant_share"] is not None else ""
    if total["dominant"]:  # the pipeline stage ran
        rows.append(["run steps, summed", _num(total["steps_seconds"]), "", "", "", "", ""])
        rows.append(["dominant step", f"{total['dominant']}{share}", "", "", "", "", ""])
    return rows, notes


def target_cells(summary: dict) -> list[list[str]]:
    out = []
    for t in summary["targets"]:
        measured = "—" if t["measured"] is None else f"{t['measured']:,.2f} {t['unit']}"
        met = {True: "met", False: "missed", None: "not measured"}[t["met"]]
        if not t["applies"]:
            met = "n/a at this size"
        out.append([t["target"], measured, f"{t['op']} {t['limit']} {t['unit']}", met])
    return out


def scaling_cells(scale: dict) -> tuple[list[str], list[list[str]]]:
    head = ["stage", *(f"{n:,} people" for n in scale["sizes"]), "exponent"]
    rows = []
    for name, points in scale["seconds"].items():
        exp = scale["exponents"].get(name)
        rows.append([name, *(_num(points.get(n)) for n in scale["sizes"]), _num(exp)])
    rows.append(["dominant step", *(str(scale["dominant"].get(n) or "—") for n in scale["sizes"]), ""])
    return head, rows


def title(summary: dict) -> str:
    m = summary["machine"]
    return (
        f"closedloop bench: tier {summary['tier']}, {summary['people']:,} people, "
        f"median of {summary['repeat']}, {m['cores']} cores, {summary['at']}"
    )


def _runs(doc: dict) -> list[dict]:
    return doc.get("runs", [doc])


def print_tables(console, doc: dict) -> None:
    """The stage, target and (with --scale) scaling tables on a rich console."""
    from rich.console import Console
    from rich.table import Table

    if not console.is_terminal:  # piped: no terminal width to respect, keep each row on one line
        console = Console(width=160)

    def table(name: str, head: list[str], rows: list[list[str]]) -> Table:
        t = Table(title=name)
        for i, col in enumerate(head):
            t.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            t.add_row(*row)
        return t

    for summary in _runs(doc):
        rows, notes = stage_cells(summary)
        console.print(table(title(summary), STAGE_HEAD, rows))
        for note in notes:
            console.print(note.replace("\\*", "*"), markup=False, highlight=False)
    last = _runs(doc)[-1]
    console.print(table(f"targets at {last['people']:,} people", TARGET_HEAD, target_cells(last)))
    if doc.get("scale"):
        console.print(table("scaling: median seconds by headcount", *scaling_cells(doc["scale"])))


def markdown(doc: dict) -> str:
    """The same tables as markdown, for docs/bench/latest.md and the README."""

    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows] + [""]

    lines = []
    for summary in _runs(doc):
        rows, notes = stage_cells(summary)
        lines += [f"**{title(summary)}**", "", *table(STAGE_HEAD, rows)]
        lines += [*(f"{n}  " for n in notes), ""] if notes else []
    last = _runs(doc)[-1]
    lines += [f"**targets at {last['people']:,} people**", "", *table(TARGET_HEAD, target_cells(last))]
    if doc.get("scale"):
        lines += ["**scaling: median seconds by headcount**", "", *table(*scaling_cells(doc["scale"]))]
    return "\n".join(lines)


def write_docs(doc: dict, root: Path = ROOT) -> list[Path]:
    """docs/bench/latest.json and latest.md, and the README's table between its bench markers."""
    folder = root / "docs" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    md = markdown(doc)
    (folder / "latest.json").write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
    (folder / "latest.md").write_text("# closedloop bench: latest results\n\n" + md, encoding="utf-8")
    written = [folder / "latest.json", folder / "latest.md"]
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        _, tail = rest.split(README_END, 1)
        readme.write_text(f"{head}{README_START}\n{md}\n{README_END}{tail}", encoding="utf-8")
        written.append(readme)
    return written
