"""Keys and links by config: an estate whose Ironclad record ids are opaque (the contract and SOW numbers in
properties, amendments pointing at their SOW by record id) and whose NetSuite references projects by entity id.

The same config section renders the estate (render_exports) and collects it (closedloop.toml), and the findings
equal the answer key exactly. A wrong key or link setting stops the run with the setting to fix.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from closedloop import pipeline
from closedloop.config_doc import toml_value
from closedloop.demo import answer, generate_firm, variants
from closedloop.demo.config import demo_toml
from closedloop.demo.exports import render_exports
from closedloop.demo.profiles import BUSINESS_KEYS
from closedloop.sandbox.demo import through_sandbox
from closedloop.settings import ConfigError, load
from tests.checks.test_answer_key import RECONCILED_CHECKS

OPAQUE_IRONCLAD = BUSINESS_KEYS.sources["ironclad"]  # the business-keys estate profile's CLM
ENTITYID_LINKS = {
    "project_links": {"transaction": "entityid", "timebill": "entityid", "milestone": "entityid"}
}
ENTITYID_KEY = {
    "project_key": "entityid",
    "project_links": {"expense_line": "entityid", "write_down": "entityid"},
}


@pytest.fixture(scope="module")
def firm():
    return generate_firm("s", seed=1)


def config_text(as_of: dt.date, config: dict[str, dict], base: str | None = None) -> str:
    """The demo's closedloop.toml (or `base`) with each source section extended by `config`."""
    doc = tomllib.loads(base if base is not None else demo_toml(as_of))
    for source, section in config.items():
        doc["sources"][source].update(section)
    lines = []
    for name, table in doc.items():
        if name == "sources":
            continue
        lines += [f"[{name}]", *(f"{k} = {toml_value(v)}" for k, v in table.items()), ""]
    for source, table in doc["sources"].items():
        lines += [f"[sources.{source}]", *(f"{k} = {toml_value(v)}" for k, v in table.items()), ""]
    return "\n".join(lines)


def _estate(firm, root: Path, render: dict, collect: dict | None = None) -> Path:
    render_exports(firm, root / "exports", render)
    path = root / "closedloop.toml"
    path.write_text(config_text(firm.params["as_of"], render if collect is None else collect))
    return path


def _run(path: Path):
    report = pipeline.run(load(path), trigger="test")
    return report


def _score(firm, report, key: pl.DataFrame | None = None):
    assert report.status == "ok", report.as_dict()
    con = duckdb.connect(report.warehouse_file, read_only=True)
    try:
        got = answer.score(
            answer.findings(con, report.run_id),
            firm.answer_key if key is None else key,
            sorted(RECONCILED_CHECKS),
        )
    finally:
        con.close()
    bad = [s.explain() for s in got.values() if not s.exact]
    assert not bad, "\n".join(bad)


def test_through_the_vendor_apis(firm, tmp_path):
    """The same estate served by the sandbox: Ironclad records API, NetSuite SuiteQL (bulk CSVs as files)."""
    variant = {"ironclad": OPAQUE_IRONCLAD, "netsuite": ENTITYID_LINKS}
    render_exports(firm, tmp_path / "exports", variant)
    with through_sandbox(tmp_path, firm.params["as_of"]) as (path, _):
        path.write_text(config_text(firm.params["as_of"], variant, base=path.read_text()))
        report = _run(path)
    _score(firm, report)


def test_opaque_ironclad_ids_give_the_answer_key(firm, tmp_path):
    path = _estate(firm, tmp_path, {"ironclad": OPAQUE_IRONCLAD})
    sow = (
        (tmp_path / "exports" / "ironclad" / "records" / "statementOfWork.jsonl").read_text().splitlines()[0]
    )
    assert '"sowNumber"' in sow and '"id":"' in sow
    _score(firm, _run(path))


def test_netsuite_references_by_entity_id_give_the_answer_key(firm, tmp_path):
    path = _estate(firm, tmp_path, {"netsuite": ENTITYID_LINKS})
    assert '"job":"PRJ' in (tmp_path / "exports" / "netsuite" / "transaction.jsonl").read_text()
    _score(firm, _run(path))


def test_projects_keyed_by_entity_id_give_the_translated_answer_key(firm, tmp_path):
    path = _estate(firm, tmp_path, {"netsuite": ENTITYID_KEY, "ironclad": OPAQUE_IRONCLAD})
    _score(firm, _run(path), variants.answer_key(firm, {"netsuite": ENTITYID_KEY}))


def test_a_link_setting_the_estate_does_not_match_names_the_fix(firm, tmp_path):
    wrong = {"ironclad": {"keys": OPAQUE_IRONCLAD["keys"]}}  # links left at business_key
    report = _run(_estate(firm, tmp_path, {"ironclad": OPAQUE_IRONCLAD}, wrong))
    assert report.status != "ok"
    print("\n".join(report.errors))
    assert "sources.ironclad.links.\"sow.contract_id\" = 'business_key'" in "\n".join(report.errors)
    assert "set it to 'record_id'" in "\n".join(report.errors)


def test_a_missing_key_setting_stops_the_run_instead_of_orphaning_every_flow(firm, tmp_path):
    report = _run(_estate(firm, tmp_path, {"ironclad": OPAQUE_IRONCLAD}, {}))
    assert report.status != "ok"
    print("\n".join(report.errors))
    assert "keys.sow" in "\n".join(report.errors)


def test_a_key_property_the_records_lack_names_it(firm, tmp_path):
    wrong = {"ironclad": {**OPAQUE_IRONCLAD, "keys": {**OPAQUE_IRONCLAD["keys"], "sow": "sowNo"}}}
    report = _run(_estate(firm, tmp_path, {"ironclad": OPAQUE_IRONCLAD}, wrong))
    assert report.status != "ok"
    assert (
        "sources.ironclad.keys.sow = 'sowNo': 524 of 524 statementOfWork records have no property 'sowNo'"
        in "\n".join(report.errors)
    )


def test_a_project_link_the_estate_does_not_match_names_the_fix(firm, tmp_path):
    report = _run(_estate(firm, tmp_path, {"netsuite": ENTITYID_LINKS}, {}))
    assert report.status != "ok"
    assert "sources.netsuite.project_links.timebill = 'id'" in "\n".join(report.errors)
    assert "set it to 'entityid'" in "\n".join(report.errors)


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"ironclad": {"keys": {"rate_card": "x"}}}, "sources.ironclad.keys.rate_card' (allowed: msa, sow"),
        ({"ironclad": {"keys": {"sow": "sow number"}}}, "sources.ironclad.keys.sow': 'sow number'"),
        ({"ironclad": {"links": {"sow.msa": "record_id"}}}, 'sources.ironclad.links."sow.msa"\' (allowed:'),
        ({"ironclad": {"links": {"amendment.sow_id": "uuid"}}}, "is not one of business_key, record_id"),
        (
            {"netsuite": {"project_key": "name"}},
            "sources.netsuite.project_key': 'name' is not one of id, entityid",
        ),
        (
            {"netsuite": {"project_links": {"invoice": "entityid"}}},
            "project_links.invoice' (allowed: projecttask",
        ),
        ({"netsuite": {"project_links": {"timebill": "name"}}}, "is not one of id, entityid"),
    ],
)
def test_unknown_keys_and_values_are_config_errors(tmp_path, section, needle):
    path = tmp_path / "closedloop.toml"
    path.write_text(config_text(dt.date(2026, 10, 31), section))
    with pytest.raises(ConfigError) as err:
        load(path)
    assert needle in str(err.value) and str(path) in str(err.value)
