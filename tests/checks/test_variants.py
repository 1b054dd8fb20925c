"""Modeling variants of an estate (collectors/netsuite/variants.py): each one, rendered and collected, gives the
answer key exactly; the key is translated where the variant merges the entities a check names
(closedloop/demo/variants.py says why).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from closedloop import pipeline
from closedloop.demo import answer, generate_firm, variants
from closedloop.demo.config import write_demo_config
from closedloop.demo.exports import render_exports
from closedloop.demo.render.netsuite_lines import aggregate
from closedloop.settings import ConfigError, load
from tests.checks.test_answer_key import RECONCILED_CHECKS

AGGREGATED = {"netsuite": {"invoice_lines": "aggregated"}}
HEADER = {"netsuite": {"service_period": "header"}}
MEMO = {"netsuite": {"credit_note_link": "memo", "credit_note_memo_field": "custbody_cl_note"}}


@pytest.fixture(scope="module")
def firm():
    return generate_firm("s", seed=1)


def _collect(firm, root, config):
    """Render the firm with `config`, write the same sections into closedloop.toml, run the pipeline."""
    render_exports(firm, root / "exports", config)
    api = {src: {"transport": "files", **cfg} for src, cfg in config.items()}
    report = pipeline.run(load(write_demo_config(root, firm.params["as_of"], api=api)), trigger="test")
    assert report.status == "ok", report.as_dict()
    return duckdb.connect(report.warehouse_file, read_only=True), report


def _exact(con, run_id, key) -> None:
    """Every reconciled check runs (a check not covered would pass a key with no rows for it) and matches."""
    skipped = con.execute(
        "SELECT check_id FROM results.check_run WHERE run_id = ? AND status = 'not_covered'", [run_id]
    ).fetchall()
    assert not {r[0] for r in skipped} & RECONCILED_CHECKS
    got = answer.score(answer.findings(con, run_id), key, sorted(RECONCILED_CHECKS))
    bad = [s.explain() for s in got.values() if not s.exact]
    assert not bad, "\n".join(bad)


def _kpis(con, run_id) -> dict:
    return dict(con.execute("SELECT name, value FROM results.kpi WHERE run_id = ?", [run_id]).fetchall())


def test_aggregated_invoice_lines_give_the_answer_key_exactly(firm, tmp_path):
    con, report = _collect(firm, tmp_path / "aggregated", AGGREGATED)
    lines = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE source_id IS NULL) FROM canon.invoice_line WHERE line_type = 'time'"
    ).fetchone()
    assert 0 < lines[1] < lines[0] < firm.tables["invoice_line"].filter(pl.col("line_type") == "time").height
    _exact(con, report.run_id, variants.answer_key(firm, AGGREGATED))
    fast, _ = answer.run(firm, run_id="fast")  # the per-entry truth: K11 judges the same entries either way
    assert {k: v for k, v in _kpis(con, report.run_id).items() if "billing_cycle" in k} == {
        k: v for k, v in _kpis(fast, "fast").items() if "billing_cycle" in k
    }


def test_unbacked_hours_of_an_aggregated_line_are_untraceable(firm):
    """Q2C-056 on aggregated lines: hours no entry accounts for, and a line no entry names; never a whole line
    whose entries account for it."""
    lines, entries = aggregate(firm.tables["invoice_line"], firm.tables["time_entry"])
    agg = lines.filter(pl.col("line_type").eq("time") & pl.col("source_id").is_null())
    posted = firm.tables["invoice"].filter(pl.col("status") == "posted")["invoice_id"].implode()
    padded, orphan = agg.filter(pl.col("invoice_id").is_in(posted)).head(2)["invoice_line_id"].to_list()
    lines = lines.with_columns(  # 2 hours billed on top of the entries; the other line loses its entries
        quantity=pl.when(pl.col("invoice_line_id") == padded)
        .then(pl.col("quantity") + 2)
        .otherwise(pl.col("quantity")),
        amount=pl.when(pl.col("invoice_line_id") == padded)
        .then(pl.col("amount") + 2 * pl.col("unit_price"))
        .otherwise(pl.col("amount")),
    )
    entries = entries.with_columns(
        invoice_line_id=pl.when(pl.col("invoice_line_id") == orphan)
        .then(None)
        .otherwise(pl.col("invoice_line_id"))
    )
    tables = firm.tables | {"invoice_line": lines, "time_entry": entries}
    con, _ = answer.run(dataclasses.replace(firm, tables=tables), run_id="unbacked")
    rows = dict(
        con.execute(
            "SELECT entity_id, json_extract_string(details, '$.amount') FROM results.finding"
            " WHERE run_id = 'unbacked' AND check_id = 'Q2C-056' AND entity_id IN (?, ?)",
            [padded, orphan],
        ).fetchall()
    )
    price = agg.filter(pl.col("invoice_line_id") == padded)["unit_price"][0]
    assert Decimal(rows[padded]) == 2 * price
    assert Decimal(rows[orphan]) == agg.filter(pl.col("invoice_line_id") == orphan)["amount"][0]
    flagged = {
        r[0]
        for r in con.execute(
            "SELECT entity_id FROM results.finding WHERE run_id = 'unbacked' AND check_id = 'Q2C-056'"
        ).fetchall()
    }
    assert flagged & set(agg["invoice_line_id"]) == {padded, orphan}


def test_credit_notes_linked_by_memo_give_the_answer_key_exactly(firm, tmp_path):
    """No applied-to id: 'Credit for INV0000123' in a text field, resolved to the invoice by its number."""
    con, report = _collect(firm, tmp_path / "memo", MEMO)
    raw = con.execute(
        "SELECT count(*) FILTER (WHERE custbody_source_ref IS NOT NULL),"
        " count(*) FILTER (WHERE custbody_cl_note LIKE 'Credit for INV%') FROM raw.netsuite__transaction"
    ).fetchone()
    credited = firm.tables["invoice"].filter(pl.col("type") == "credit_note")["source_ref"].drop_nulls()
    assert raw == (0, credited.len()) and credited.len() > 0
    linked = con.execute(
        "SELECT source_ref FROM canon.invoice WHERE type = 'credit_note' AND source_ref IS NOT NULL"
    ).fetchall()
    assert sorted(r[0] for r in linked) == sorted(credited.to_list())
    _exact(con, report.run_id, variants.answer_key(firm, MEMO))


def test_service_period_on_the_invoice_header_gives_the_answer_key_exactly(firm, tmp_path):
    """The lines take their invoice's period: the header spans its lines' periods, so no line starts later
    than it did and Q2C-051 (billing after contract end) still finds what the key holds."""
    con, report = _collect(firm, tmp_path / "header", HEADER)
    cols = {r[0] for r in con.execute("DESCRIBE raw.netsuite__transactionline").fetchall()}
    assert not cols & {"custcol_period_start", "custcol_period_end"}
    spread = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE n > 1) FROM (SELECT invoice_id, count(DISTINCT period_start) AS n"
        " FROM canon.invoice_line GROUP BY invoice_id)"
    ).fetchone()
    assert spread[0] > 0 and spread[1] == 0
    assert (
        con.execute("SELECT count(*) FROM canon.invoice_line WHERE period_start IS NULL").fetchone()[0] == 0
    )
    _exact(con, report.run_id, variants.answer_key(firm, HEADER))


def test_the_variants_together_give_the_answer_key_exactly(firm, tmp_path):
    """A profile may choose several variants at once: each translation composes with the others."""
    together = {"netsuite": AGGREGATED["netsuite"] | MEMO["netsuite"] | HEADER["netsuite"]}
    con, report = _collect(firm, tmp_path / "together", together)
    _exact(con, report.run_id, variants.answer_key(firm, together))


def test_an_unknown_variant_is_a_config_error_naming_the_key(tmp_path):
    path = write_demo_config(tmp_path, "2026-10-31", api={"netsuite": {"invoice_lines": "per_invoice"}})
    with pytest.raises(ConfigError, match=r"sources\.netsuite\.invoice_lines.*per_entry, aggregated"):
        load(path)
    with pytest.raises(ValueError, match="invoice_lines"):
        render_exports(generate_firm("s", seed=1), tmp_path / "x", {"netsuite": {"invoice_lines": "x"}})


def test_a_credit_note_pattern_that_is_no_regular_expression_is_a_config_error(tmp_path):
    api = {"netsuite": {"credit_note_link": "memo", "credit_note_invoice_pattern": "INV-([0-9]+"}}
    path = write_demo_config(tmp_path, "2026-10-31", api=api)
    with pytest.raises(
        ConfigError, match=r"sources\.netsuite\.credit_note_invoice_pattern': 'INV-\(\[0-9\]\+'"
    ):
        load(path)
