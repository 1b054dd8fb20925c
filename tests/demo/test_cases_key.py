"""No money counted twice on the demo firm: the run's cases equal the answer key's cases, to the cent.

The answer key's cases (closedloop/demo/case_key.py) are computed over the generator's truth tables with polars,
independently of checks/cases.py: each key row's money through the truth's links, its kind, stage and money part
from the rule headers. The run (closedloop.demo.answer, the truth loaded into canon) must form the same cases,
put every finding in the same case, and give the same amount of each kind per case and in total. The same holds
for estates configured differently, collected through the vendors' APIs, against their own answer keys.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import polars as pl
import pytest

from checks.loader import MONEY_KINDS
from closedloop import pipeline
from closedloop import settings as cfgmod
from closedloop.demo import answer, case_key, generate_firm, write_demo
from closedloop.demo.profiles import profile
from closedloop.sandbox.demo import through_sandbox

DEMO_SEED = 42  # the firm `closedloop demo` generates
KINDS = [f"{k}_rc" for k in MONEY_KINDS]
FINDING = ["check_id", "entity_type", "entity_id"]


@pytest.fixture(scope="module")
def demo():
    """(connection after a run, the key's cases) on the default tier-s demo firm."""
    firm = generate_firm("s", seed=DEMO_SEED)
    con, summary = answer.run(firm)
    assert not summary.by_status("error"), {r.check_id: r.error for r in summary.results if r.error}
    yield con, case_key.build(firm)
    con.close()


def run_cases(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """The run's cases with each kind's amount (no finding of a kind = 0) and its compliance count."""
    run_id = run_id or con.execute("SELECT max(run_id) FROM results.cases").fetchone()[0]
    return con.execute(
        "SELECT case_key, money_type, money_id, root_check_id, check_ids, findings, "
        + ", ".join(f"coalesce({k}, 0) AS {k}" for k in KINDS)
        + ", compliance_findings FROM results.cases WHERE run_id = ?",
        [run_id],
    ).pl()


def run_findings(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> pl.DataFrame:
    """The run's findings with their case and the money part their check measures."""
    run_id = run_id or con.execute("SELECT max(run_id) FROM results.finding").fetchone()[0]
    return con.execute(
        "SELECT f.check_id, f.entity_type, f.entity_id, f.case_key, f.impact_kind, f.impact_rc, cr.money, "
        "f.finding_key, json_extract_string(f.details, '$.money_piece') AS money_piece "
        "FROM results.finding f JOIN results.check_run cr ON cr.run_id = f.run_id AND cr.check_id = f.check_id "
        "WHERE f.run_id = ?",
        [run_id],
    ).pl()


def assert_same_cases(found: pl.DataFrame, cases: pl.DataFrame, key: case_key.CaseKey) -> None:
    """(a) each finding in the key's case, the same set of cases; (b) per case and in total, each kind to the cent."""
    placed = dict(zip(key.rows.select(FINDING).rows(), key.rows["case_key"], strict=True))
    got = dict(zip(found.select(FINDING).rows(), found["case_key"], strict=True))
    assert got.keys() == placed.keys(), "the run's findings are not the key's rows"
    moved = [(f, got[f], placed[f]) for f in sorted(placed) if got[f] != placed[f]]
    assert not moved, f"{len(moved)} findings in another case than the key's (finding, run, key): {moved[:5]}"

    cols = [
        "case_key",
        "money_type",
        "money_id",
        "root_check_id",
        "check_ids",
        "findings",
        *KINDS,
        "compliance_findings",
    ]
    want = {r[0]: r for r in key.cases.select(cols).rows()}
    have = {r[0]: r for r in cases.select(cols).rows()}
    assert have.keys() == want.keys(), (
        f"cases only in the run: {sorted(have.keys() - want.keys())[:5]}; "
        f"only in the key: {sorted(want.keys() - have.keys())[:5]}"
    )
    differ = [(have[k], want[k]) for k in sorted(want) if tuple(have[k]) != tuple(want[k])]
    assert not differ, f"{len(differ)} cases differ (run, key), columns {cols}: {differ[:3]}"

    totals = {k: Decimal(cases[k].sum() or 0).quantize(Decimal("0.01")) for k in KINDS}
    totals["compliance_findings"] = int(cases["compliance_findings"].sum())
    assert totals == key.totals


def test_every_finding_is_in_the_key_s_case_and_each_kind_sums_to_the_key_s_total(demo):
    con, key = demo
    assert_same_cases(run_findings(con), run_cases(con), key)
    # the figures are real: every kind has money on the demo firm, and cases are fewer than findings
    assert all(key.totals[k] > 0 for k in KINDS) and key.totals["compliance_findings"] > 0
    assert key.cases.height < key.rows.height


def test_no_money_is_counted_twice(demo):
    """For every case c and money kind k, with A(q) = the sum of check q's findings on c (findings of q that name
    the same piece of money in their evidence, `money_piece`, once: the largest) and part(q) the part of
    the money q measures (rule header `money`): amount(c, k) = Σ over parts p of max{A(q) : q of kind k, part(q)
    = p}. So checks measuring the same part of the same money count it once (the largest), different parts add,
    and the amount is at least the largest single check's and at most the checks' plain sum."""
    con, _ = demo
    f = run_findings(con).filter(pl.col("impact_kind").is_in(MONEY_KINDS))
    piece = pl.coalesce("money_piece", "finding_key").alias("piece")
    per_piece = f.group_by("case_key", "impact_kind", "money", "check_id", piece).agg(
        pl.col("impact_rc").max()
    )
    per_check = per_piece.group_by("case_key", "impact_kind", "money", "check_id").agg(
        pl.col("impact_rc").sum()
    )
    bound = (
        per_check.group_by("case_key", "impact_kind", "money")
        .agg(pl.col("impact_rc").max().alias("part_max"), pl.col("impact_rc").sum().alias("part_sum"))
        .group_by("case_key", "impact_kind")
        .agg(
            pl.col("part_max").sum().alias("once"),
            pl.col("part_sum").sum().alias("plain"),
            pl.col("part_max").max().alias("largest"),
        )
    )
    cases = run_cases(con)
    long = cases.unpivot(index="case_key", on=KINDS, variable_name="kind", value_name="amount").with_columns(
        impact_kind=pl.col("kind").str.strip_suffix("_rc")
    )
    j = bound.join(long, on=["case_key", "impact_kind"], how="full", coalesce=True).with_columns(
        pl.col("once", "plain", "largest").fill_null(Decimal("0.00"))
    )
    wrong = j.filter(pl.col("amount") != pl.col("once"))
    assert not wrong.height, wrong.head(5)
    assert j.filter((pl.col("amount") < pl.col("largest")) | (pl.col("amount") > pl.col("plain"))).height == 0
    # the rule is exercised: on the demo firm, overlapping checks collapse in every kind
    collapsed = j.filter(pl.col("amount") < pl.col("plain"))
    assert set(collapsed["impact_kind"]) == set(MONEY_KINDS), collapsed.group_by("impact_kind").len()


def _case_of(con, check_id: str, entity_type: str, entity_id: str) -> str:
    return con.execute(
        "SELECT case_key FROM results.finding WHERE check_id = ? AND entity_type = ? AND entity_id = ?",
        [check_id, entity_type, entity_id],
    ).fetchone()[0]


def test_an_invoice_lost_on_the_way_to_crm_is_one_case_counted_once(demo):
    """The issue's overlap: an invoice missing in CRM (Q2C-070) whose invoice.posted event dead-lettered (Q2C-104)."""
    con, key = demo
    rows = key.rows
    both = (
        rows.filter(pl.col("check_id").is_in(["Q2C-070", "Q2C-104"]))
        .group_by("case_key")
        .agg(pl.col("check_id").n_unique().alias("n"), pl.col("money_type").first())
        .filter(pl.col("n") == 2)
    )
    assert both.height, "the demo firm has no invoice under both Q2C-070 and Q2C-104"
    assert set(both["money_type"]) == {"invoice"}
    cases = run_cases(con)
    for ck in both["case_key"]:
        on_case = rows.filter(pl.col("case_key") == ck)
        lost = on_case.filter(pl.col("check_id") == "Q2C-070")
        event = on_case.filter(pl.col("check_id") == "Q2C-104")
        # the finding on the invoice and the one on its event are in one case of the run
        assert _case_of(con, "Q2C-070", "invoice", lost["entity_id"][0]) == ck
        assert {_case_of(con, "Q2C-104", "integration_event", e) for e in event["entity_id"]} == {ck}
        amount = lost["impact_rc"].sum()
        assert amount > 0 and event["impact_rc"].sum() == amount  # the same money under both checks
        cash = cases.filter(pl.col("case_key") == ck)["cash_rc"][0]
        others = on_case.filter(
            (pl.col("impact_kind") == "cash") & ~pl.col("check_id").is_in(["Q2C-070", "Q2C-104"])
        )
        # every cash check on an invoice measures the whole document: the case counts its largest figure once
        assert set(others["money"]) <= {"document"}
        assert cash == max([amount, *others.group_by("check_id").agg(pl.col("impact_rc").sum())["impact_rc"]])
        assert cash < 2 * amount


def test_sow_level_overlaps_collapse(demo):
    """The issue's SOW overlap: the SOW's counterparty (Q2C-004), its opportunity (Q2C-002) and its project's
    currency (Q2C-040) are about the SOW's value; the exposure is the SOW's value once."""
    con, key = demo
    rows = key.rows
    named = ["Q2C-002", "Q2C-004", "Q2C-040"]
    sows = (
        rows.filter(pl.col("check_id").is_in(named))
        .group_by("case_key")
        .agg(pl.col("check_id").unique().alias("named"), pl.col("money_type").first())
        .filter(pl.col("named").list.len() >= 2)
    )
    assert sows.height, "the demo firm has no SOW under two of Q2C-002, Q2C-004, Q2C-040"
    assert set(sows["money_type"]) == {"sow"}
    cases = run_cases(con)
    for ck, checks in sows.select("case_key", "named").rows():
        on_case = rows.filter(pl.col("case_key") == ck)
        for cid in checks:
            entities = on_case.filter(pl.col("check_id") == cid)
            assert {
                _case_of(con, cid, t, e) for t, e in entities.select("entity_type", "entity_id").rows()
            } == {ck}
        case = cases.filter(pl.col("case_key") == ck).row(0, named=True)
        exposure = on_case.filter(pl.col("impact_kind") == "exposure")
        per_check = exposure.group_by("check_id", "money").agg(pl.col("impact_rc").sum())
        doc = per_check.filter(pl.col("money") == "document")
        assert set(doc["check_id"]) >= set(checks) - {"Q2C-002"}  # 002 is compliance: counted, not priced
        others = (
            per_check.filter(pl.col("money") != "document").group_by("money").agg(pl.col("impact_rc").max())
        )
        assert case["exposure_rc"] == doc["impact_rc"].max() + (others["impact_rc"].sum() or 0)
        assert case["exposure_rc"] < per_check["impact_rc"].sum() or per_check.height == 1
        assert case["compliance_findings"] == on_case.filter(pl.col("impact_kind") == "compliance").height


# Estates whose key differs from the default's: checks it cannot cover leave it (lean), time lines aggregated
# (modeling-variants), projects known by their entity id (business-keys).
PROFILES = ("lean", "modeling-variants", "business-keys")


@pytest.fixture(scope="module")
def profile_firm():
    return generate_firm("s", seed=1)  # the firm tests/demo/test_profiles.py renders


@pytest.mark.parametrize("name", PROFILES)
def test_estate_cases_equal_its_answer_key_s_cases(name, profile_firm, tmp_path):
    prof = profile(name)
    estate = write_demo(profile_firm, tmp_path / name, prof)
    with through_sandbox(estate, profile_firm.params["as_of"], sections=prof.config_sections()) as (path, _):
        report = pipeline.run(cfgmod.load(path), trigger="test")
    assert report.status == "ok", report.as_dict()
    key = case_key.build(profile_firm, prof.answer_key(profile_firm), config=prof.sources)
    con = duckdb.connect(report.warehouse_file, read_only=True)
    try:
        assert_same_cases(run_findings(con, report.run_id), run_cases(con, report.run_id), key)
    finally:
        con.close()


def test_an_unapplied_payment_and_the_short_payment_of_its_invoice_are_one_open_amount(demo):
    """The issue's Q2C-073 overlap: a payment left unapplied names the invoice it was probably for (its open
    amount equals the payment); that invoice's short payment is the same money. One case, counted once."""
    con, key = demo
    f = con.execute(
        "SELECT f.entity_type, f.entity_id, f.invoice_id, f.case_key, f.impact_rc, "
        "json_extract_string(f.details, '$.money_piece') AS piece, "
        "json_extract_string(f.details, '$.probable_invoice_id') AS probable "
        "FROM results.finding f WHERE f.check_id = 'Q2C-073' AND f.run_id = (SELECT max(run_id) FROM results.finding)"
    ).pl()
    payments = f.filter(pl.col("entity_type") == "payment")
    named = payments.filter(pl.col("probable").is_not_null())
    assert named.height, "no unapplied payment names its probable invoice on the demo firm"
    truth = key.rows.filter((pl.col("check_id") == "Q2C-073") & (pl.col("entity_type") == "payment"))
    paid_for = dict(zip(truth["entity_id"], truth["money_id"], strict=True))
    # the probable invoice is the one the generator left the payment unapplied on
    assert all(paid_for[p] == i for p, i in named.select("entity_id", "probable").rows())
    short = f.filter(pl.col("entity_type") == "invoice")
    both = named.join(short, left_on="probable", right_on="entity_id", suffix="_inv")
    assert both.height, "no invoice is both short-paid and the probable invoice of an unapplied payment"
    cases = run_cases(con)
    for r in both.iter_rows(named=True):
        assert r["case_key"] == r["case_key_inv"] and r["piece"] == r["piece_inv"] == f"open:{r['probable']}"
        case = cases.filter(pl.col("case_key") == r["case_key"]).row(0, named=True)
        cash_073 = max(
            r["impact_rc"], r["impact_rc_inv"]
        )  # one open amount, FX at two dates: the larger once
        assert case["cash_rc"] >= cash_073 and case["cash_rc"] < r["impact_rc"] + r["impact_rc_inv"]
