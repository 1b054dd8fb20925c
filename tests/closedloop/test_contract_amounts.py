"""Data contracts bound amounts per column: signs and magnitudes, built in for canonical money and set per
column in config. A -$5B opportunity fails its contract: its source fails and nothing is published."""

from __future__ import annotations

import pytest

from closedloop import pipeline, settings
from closedloop.settings import ConfigError
from closedloop.warehouse import Warehouse
from tests.closedloop.test_contracts import DEALS, contract_rows, make_firm

HUGE_LOSS = "D3,A1,won,-5000000000.00,2026-01-01,2026-02-01\n"


def test_a_minus_5_billion_opportunity_fails_its_contract_and_is_not_published(tmp_path):
    cfg = make_firm(tmp_path)
    good = pipeline.run(cfg, with_checks=False)
    assert good.published
    make_firm(tmp_path, deals=DEALS + HUGE_LOSS)
    report = pipeline.run(cfg, with_checks=False)
    assert report.status == "partial" and not report.published
    assert {s.source for s in report.sources if s.status == "failed"} == {"crm"}
    failed = {(r["stream"], r["label"]): r for r in contract_rows(report)}
    canon = failed[("canon.opportunity", "amount between -1,000,000,000 and 1,000,000,000")]
    assert canon["severity"] == "critical" and canon["unexpected_count"] == 1
    assert "D3" in canon["sample_failing_keys"]
    assert failed[("deals", "amount >= 0")]["severity"] == "warning"  # the raw sign rule from config
    assert failed[("canon.opportunity", "amount >= 0")]["severity"] == "warning"  # the built-in sign rule
    assert Warehouse.at(cfg.data_dir).published()["run_id"] == good.run_id


def test_a_magnitude_beyond_the_ceiling_fails_whatever_its_sign(tmp_path):
    cfg = make_firm(tmp_path, deals=DEALS + "D3,A1,won,2000000000.00,2026-01-01,2026-02-01\n")
    report = pipeline.run(cfg, with_checks=False)
    assert not report.published
    assert ("canon.opportunity", "amount between -1,000,000,000 and 1,000,000,000") in {
        (r["stream"], r["label"]) for r in contract_rows(report)
    }
    cfg.values["contracts"]["max_amount"] = 5e9  # a firm with bigger deals raises the ceiling
    assert pipeline.run(cfg, with_checks=False).published


def test_bounds_are_configured_per_column_raw_and_canonical(tmp_path):
    extra = "amounts = {'crm.deals.amount' = {min = 0, max = 75}, 'canon.opportunity.amount' = {}}\n"
    cfg = make_firm(tmp_path, deals=DEALS + HUGE_LOSS, extra=extra)
    report = pipeline.run(cfg, with_checks=False)
    failed = {(r["stream"], r["label"]): r for r in contract_rows(report)}
    raw = failed[("deals", "amount between 0 and 75")]  # 100.00 and -5B are out, 50.00 is in
    assert raw["severity"] == "critical" and raw["unexpected_count"] == 2
    assert not [k for k in failed if k[0] == "canon.opportunity" and "between" in k[1]]  # switched off
    assert not report.published
    cfg.values["contracts"]["severity"] = {"amount": "warning"}
    cfg.values["contracts"]["amounts"] = {"crm.deals.amount": {"max": 75}}
    report = pipeline.run(cfg, with_checks=False)
    assert report.published  # warnings are recorded, the run is whole
    labels = {(r["stream"], r["label"]) for r in contract_rows(report)}
    assert ("deals", "amount <= 75") in labels
    assert ("canon.opportunity", "amount between -1,000,000,000 and 1,000,000,000") in labels


@pytest.mark.parametrize(
    "value,message",
    [
        ("{'deals.amount' = {min = 0}}", "'deals.amount' is not '<source>.<stream>.<column>'"),
        ("{'crm.deals.amount' = {min = 'zero'}}", "'crm.deals.amount': min must be a number, got 'zero'"),
        ("{'crm.deals.amount' = {low = 0}}", "'crm.deals.amount': expected {min = <number>, max = <number>}"),
        ("{'crm.deals.amount' = {min = 5, max = 1}}", "'crm.deals.amount': min 5 is above max 1"),
    ],
)
def test_bad_bounds_are_config_errors_naming_the_key_and_the_file(tmp_path, value, message):
    p = tmp_path / "closedloop.toml"
    p.write_text(f"[contracts]\namounts = {value}\n")
    with pytest.raises(ConfigError) as err:
        settings.load(p)
    assert f"{p}: key 'contracts.amounts': {message}" in str(err.value)
