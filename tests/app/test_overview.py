"""The overview in words: money per kind from cases, no total across kinds, neutral zero change, fix-first links."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import duckdb
from streamlit.proto.Metric_pb2 import Metric as MetricProto

from app import components as ui
from closedloop import access, settings
from closedloop.case_audit import case_workflow

KIND_TITLES = {"leakage": "Revenue leakage", "exposure": "Exposure", "cash": "Cash delayed"}

ADMIN = access.Policy().local("analyst")  # every role: nothing masked, the whole firm


def _run_file(cfg: Path) -> str:
    return str(next((cfg.parent / "data").rglob("*.duckdb")))


def _case_sums(cfg: Path) -> dict[str, Decimal]:
    """Each money kind summed over results.cases of the published run, straight from the file."""
    con = duckdb.connect(_run_file(cfg), read_only=True)
    try:
        row = con.execute(
            "SELECT coalesce(sum(leakage_rc), 0), coalesce(sum(exposure_rc), 0), coalesce(sum(cash_rc), 0) "
            "FROM results.cases WHERE run_id = (SELECT run_id FROM meta.run)"
        ).fetchone()
    finally:
        con.close()
    return dict(zip(KIND_TITLES, row, strict=True))


def _texts(at) -> list[str]:
    """Everything the page says in words and figures."""
    out = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader]
    out += [f"{m.label} {m.value} {m.proto.delta} {m.help}" for m in at.metric]
    out += [p.proto.text for p in at.get("progress")]
    return out


def _links(at) -> list[tuple[str, dict[str, list[str]]]]:
    return [(p.proto.label, parse_qs(p.proto.query_string)) for p in at.get("page_link")]


def test_each_kind_is_its_cases_sum_and_no_total_across_kinds_appears(app, site):
    at = app("overview")
    assert not at.exception, [e.value for e in at.exception]
    sums = _case_sums(site)
    metrics = {m.label: m for m in at.metric}
    for kind, title in KIND_TITLES.items():
        assert metrics[title].value == ui.money(sums[kind], compact=True)
        exact = ui.money(sums[kind])
        assert any(c.value.startswith(f"{exact} in ") for c in at.caption), (kind, exact)
    assert metrics["Compliance breaks"].value == "0 cases"  # a count, never money
    texts = " ".join(_texts(at))
    for n in (2, 3):  # any sum of two or three kinds, compact or exact, must appear nowhere
        for combo in itertools.combinations(sums.values(), n):
            total = sum(combo, Decimal("0"))
            if total not in sums.values():
                assert ui.money(total) not in texts and ui.money(total, compact=True) not in texts, total
    assert "all findings" not in texts.lower() and "all $" not in texts.lower()
    assert not any(m.label.startswith(("K0", "K1", "Q2C")) for m in at.metric)  # names in words, codes small
    assert "3.0 business days" in texts and " bd" not in texts  # units spelled out


def test_a_zero_change_is_neutral_and_a_fall_in_money_is_good(app):
    at = app("overview")
    metrics = {m.label: m for m in at.metric}
    compliance = metrics["Compliance breaks"]  # 0 cases on both business dates
    assert compliance.proto.delta == "no change"
    assert compliance.proto.color == MetricProto.MetricColor.GRAY
    assert compliance.proto.direction == MetricProto.MetricDirection.NONE
    exposure = metrics["Exposure"]  # $20,000 on 2026-10-30, none on 2026-10-31: less at risk is good
    assert exposure.proto.delta == "-$20.0K" and exposure.proto.color == MetricProto.MetricColor.GREEN
    assert exposure.proto.delta_description == "vs 2026-10-30"  # the business date, not a run's seconds
    leakage = metrics["Revenue leakage"]
    assert leakage.proto.color == MetricProto.MetricColor.RED  # more leakage than the day before


def test_fix_first_lists_the_largest_leakage_cases_each_linked_to_its_evidence(app, site):
    at = app("overview")
    con = duckdb.connect(_run_file(site), read_only=True)
    try:
        expected = [
            r[0]
            for r in con.execute(
                "SELECT case_key FROM results.cases WHERE leakage_rc > 0 ORDER BY leakage_rc DESC LIMIT 5"
            ).fetchall()
        ]
    finally:
        con.close()
    evidence = [q["sel"][0] for label, q in _links(at) if label == "Open evidence →"]
    assert evidence == expected and len(expected) == 3
    texts = _texts(at)
    first = next(t for t in texts if "T&M time billed at rate" in t)
    assert "Globex Corp" in first and "INV\\-2026\\-0001" in first  # the client and the document number
    second = next(t for t in texts if "Billing\\-schedule total" in t)
    assert "project Globex ERP rollout" in second and "SOW SOW\\-1" in second  # a name first, the id small
    hostile = next(t for t in texts if "Approved billable time never invoiced" in t)
    assert "\\<b\\>Sons\\</b\\>" in hostile and "\\*\\*Ltd\\*\\*" in hostile  # names render as text
    kinds = {q["kind"][0] for label, q in _links(at) if label == "Open these cases →"}
    assert kinds == {"leakage", "exposure", "cash", "compliance"}


def test_since_the_last_run_shows_what_the_data_closed_and_who_resolved_what(app, site):
    cfg = settings.load(site)
    con = duckdb.connect(_run_file(site), read_only=True)
    try:
        (inv1,) = con.execute("SELECT case_key FROM results.cases WHERE money_id = 'INV-1'").fetchone()
        (opp3,) = con.execute("SELECT case_key FROM results.case_history WHERE money_id = 'OPP-3'").fetchone()
    finally:
        con.close()
    wf = case_workflow(cfg.ops_url)
    wf.resolve(opp3, "bea@firm.example", "data_entry", "signed SOW filed")
    wf.resolve(inv1, "ana@firm.example", "timing_difference", "<script>alert(1)</script>")
    wf.resolve(inv1, "ana@firm.example", "data_entry", "again")  # the same case twice: one case
    at = app("overview")
    assert not at.exception, [e.value for e in at.exception]
    texts = _texts(at)
    assert "**Closed since the last run: 1 case**" in texts
    closed = next(t for t in texts if "Closed\\-won opportunity without executed SOW" in t)
    assert "opportunity OPP\\-3" in closed and "exposure \\$20\\.0K" in closed
    assert "bea@firm\\.example" in closed  # who had marked it resolved before the data confirmed it
    assert "**Marked resolved by people: 2 cases**" in texts
    assert "ana@firm\\.example (2) · bea@firm\\.example (1)" in texts
    ana = next(t for t in texts if t.startswith("ana@firm\\.example ·") and "data entry" in t)
    assert "T&M time billed at rate" in ana and "awaiting the next run" in ana
    assert not any("<script>" in t for t in texts)


def test_the_trend_is_by_business_date_with_the_last_run_of_each_date(site):
    from app import queries_overview as qo

    path = _run_file(site)
    con = duckdb.connect(path)
    try:  # an earlier run on the same business date as the current one: the trend keeps only the later run
        con.execute(
            "INSERT INTO results.case_run VALUES ('00000000T000000000Z-000000', DATE '2026-10-31', 'leakage', 'S1',"
            " 9, 9, 999999.00, NULL)"
        )
    finally:
        con.close()
    trend = qo.kind_trend(path, ADMIN)
    assert sorted(set(trend["as_of"].to_list())) == [dt.date(2026, 10, 30), dt.date(2026, 10, 31)]
    leak = trend.filter(trend["kind"] == "leakage")["amount"].to_list()
    assert leak == [Decimal("30000.00"), _case_sums(site)["leakage"]]
