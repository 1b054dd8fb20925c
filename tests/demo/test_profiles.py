"""Estate profiles: the same firm as differently configured vendor estates, each judged over the vendors' APIs.

Every profile is rendered (its own names, picklist words, missing fields and tables), served by the sandbox,
collected through the real API collectors with the config its customer would write, and scored: every check
the estate can judge matches the answer key exactly (precision = recall = 1, $ to the cent), and coverage
reports exactly the checks it cannot judge, which run nothing. The own-words estate is configured from
`closedloop discover --write` drafts plus the small patch kept beside this file, nothing else.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from checks.remote import Remote
from closedloop import pipeline
from closedloop import settings as cfgmod
from closedloop.cli import app
from closedloop.demo import answer, generate_firm, write_demo
from closedloop.demo.profiles import PROFILES, profile
from closedloop.engines import open_engine
from closedloop.engines.canon_build import build_on_engine
from closedloop.sandbox.demo import through_sandbox
from tests.checks.test_answer_key import RECONCILED_CHECKS
from tests.engines import equality

PATCH = Path(__file__).with_name("own_words_patch.toml")
# Estates whose canonical model Spark builds itself (the others' is copied to it): between them every mapping
# file, the value maps, the guards and macros, and each NetSuite UPDATE variant. Every estate builds on PostgreSQL.
SPARK_BUILDS = {
    "own-words",
    "modeling-variants",
    "business-keys",
    "conga-sap",
    "dynamics-docusign",
    "oracle-icertis",
}
VENDORS = ("salesforce", "netsuite", "ironclad")


@pytest.fixture(scope="module")
def firm():
    return generate_firm("s", seed=1)


@pytest.fixture(scope="module")
def estates(firm, tmp_path_factory):
    """Each profile rendered once: name -> its demo directory."""
    root = tmp_path_factory.mktemp("estates")
    return {name: write_demo(firm, root / name, prof) for name, prof in PROFILES.items()}


def _score(con, run_id: str, key, checks) -> list[str]:
    got = answer.score(answer.findings(con, run_id), key, sorted(checks))
    return [s.explain() for s in got.values() if not s.exact]


def _judge(con, report, prof, firm) -> None:
    """Exact on what the estate covers; exactly the declared checks not covered, and those found nothing."""
    not_covered = {
        r[0]
        for r in con.execute(
            "SELECT item_id FROM results.coverage WHERE run_id = ? AND item_kind = 'check' AND status = 'not covered'",
            [report.run_id],
        ).fetchall()
    }
    assert not_covered == set(prof.not_covered)
    unmapped = con.execute(
        "SELECT DISTINCT setting, vendor_value FROM meta.unmapped_value ORDER BY ALL"
    ).fetchall()
    assert not unmapped, unmapped
    bad = _score(con, report.run_id, prof.answer_key(firm), RECONCILED_CHECKS - prof.not_covered)
    assert not bad, "\n".join(bad)
    found = answer.findings(con, report.run_id)
    assert found.filter(found["check_id"].is_in(sorted(not_covered))).height == 0


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_matches_its_answer_key_over_the_vendor_apis(name, firm, estates, pg, spark, tmp_path):
    prof = profile(name)
    sections = prof.config_sections()
    with through_sandbox(estates[name], firm.params["as_of"], sections=sections, systems=prof.systems) as (
        path,
        _,
    ):
        cfg = cfgmod.load(path)
        report = pipeline.run(cfg, trigger="test")
    assert report.status == "ok", report.as_dict()
    con = duckdb.connect(report.warehouse_file, read_only=True)
    _judge(con, report, prof, firm)
    statuses = dict(
        con.execute("SELECT source, list(DISTINCT status) FROM meta.source_run GROUP BY 1").fetchall()
    )
    assert set(statuses) >= set(prof.systems)
    assert not [s for s, st in statuses.items() if "failed" in st], statuses  # what an estate lacks is absent
    con.close()
    # the same rules and KPIs on PostgreSQL and on Spark, over this estate's model built there from its raw
    # tables by the same mapping SQL: the same canonical rows, the same findings, the same $ to the cent
    schema = "canon_" + name.replace("-", "_")
    work = "work_" + name.replace("-", "_")
    engine = open_engine("postgres", pg.url, pg.password)

    def build(con, remote):
        build_on_engine(con, cfg, remote)

    on_spark = "build" if name in SPARK_BUILDS else "copy"
    remotes = (
        Remote(
            engine, pg.password, canonical_schema=schema, work_schema=work, canonical="build", build=build
        ),
        Remote(spark, canonical_schema=schema, work_schema=work, canonical=on_spark, build=build),
    )
    try:
        assert equality.assert_same(Path(report.warehouse_file), tmp_path, *remotes) > 0
    finally:  # twenty estates' models would fill the disk of a small CI machine
        for s in (schema, work):
            engine.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
            spark.execute(f"DROP DATABASE IF EXISTS {s} CASCADE")
        engine.close()


def test_the_profiles_are_different_estates(estates):
    """The renderer wrote each estate's own names and words, and left out what it lacks."""
    names = estates["custom-names"] / "exports"
    assert (names / "netsuite" / "customrecord_acme_dispute.jsonl").is_file()
    assert not (names / "netsuite" / "customrecord_cl_dispute.jsonl").exists()
    job = (names / "netsuite" / "job.jsonl").read_text()
    assert "custentity_acme_sow_id" in job and "custentity_sow_id" not in job
    assert (names / "ironclad" / "records" / "consultingSow.jsonl").is_file()
    assert (names / "salesforce" / "ERP_Invoice__c.jsonl").is_file()
    words = estates["own-words"] / "exports"
    sows = (words / "ironclad" / "records" / "statementOfWork.jsonl").read_text()
    assert '"value":"Fully Signed"' in sows and '"value":"executed"' not in sows
    timebill = (words / "netsuite" / "timebill.csv").read_text()
    assert ",APPROVED," in timebill and ",approved," not in timebill
    lean = estates["lean"] / "exports"
    schema = json.loads((lean / "netsuite" / "_schema.json").read_text())
    assert "customrecord_cl_dispute" not in schema and "custbody_markup_pct" not in schema["transaction"]
    assert "custbody_sow_id" in schema["transaction"]
    assert not (lean / "reference" / "approval_matrix.csv").exists()
    meta = json.loads((lean / "ironclad" / "records" / "metadata.json").read_text())
    assert "expenseCap" not in meta["properties"]


def _merge(base: dict, patch: dict) -> dict:
    out = dict(base)
    for k, v in patch.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _configured_by_discover(firm, estate, patch: Path, tmp_path):
    """Run the estate with a config made of `closedloop discover --write` drafts (started from the product's
    defaults, as a new customer's config is) and the patch; returns (report, the drafted config)."""
    with through_sandbox(estate, firm.params["as_of"]) as (path, _):
        doc = tomllib.loads(path.read_text())
        for vendor in VENDORS:
            draft = tmp_path / f"{vendor}.toml"
            result = CliRunner().invoke(
                app, ["discover", vendor, "--config", str(path), "--write", str(draft)]
            )
            assert result.exit_code == 0, result.output
            doc["sources"][vendor] = tomllib.loads(draft.read_text())["sources"][vendor]
        drafted = json.loads(json.dumps(doc))
        report = pipeline.run(
            cfgmod.parse(_merge(doc, tomllib.loads(patch.read_text())), path), trigger="test"
        )
    assert report.status == "ok", report.as_dict()
    return report, drafted["sources"]


def test_discover_drafts_plus_a_small_patch_configure_the_own_words_estate(firm, estates, tmp_path):
    report, drafted = _configured_by_discover(firm, estates["own-words"], PATCH, tmp_path)
    # discover found the renamed fields itself: the patch holds value words only
    assert drafted["netsuite"]["custom_fields"]["custcol_role"] == "custcol_resource_role"
    assert drafted["salesforce"]["correlation_field"] == "Engagement_Key__c"
    assert drafted["ironclad"]["properties"]["billing_type"] == "billingModel"
    patch = tomllib.loads(PATCH.read_text())
    assert {k for v in patch["sources"].values() for k in v} == {"values"}
    _judge(duckdb.connect(report.warehouse_file, read_only=True), report, profile("own-words"), firm)


def test_discover_drafts_the_keys_and_links_of_the_business_keys_estate(firm, estates, tmp_path):
    """Opaque Ironclad ids and entity-id project references are read from the data itself; the one line
    added says which project key the other systems hold, which one source cannot know."""
    patch = tmp_path / "patch.toml"
    patch.write_text('[sources.netsuite]\nproject_key = "entityid"\n')
    report, drafted = _configured_by_discover(firm, estates["business-keys"], patch, tmp_path)
    want = profile("business-keys").sources
    assert {k: v for k, v in want["ironclad"]["links"].items() if not k.startswith("milestone")} == drafted[
        "ironclad"
    ]["links"]
    keys = {
        k: v for k, v in want["ironclad"]["keys"].items() if k != "milestone"
    }  # no CLM milestones at tier s
    assert drafted["ironclad"]["keys"] == keys
    assert drafted["netsuite"]["project_links"] == want["netsuite"]["project_links"]
    _judge(duckdb.connect(report.warehouse_file, read_only=True), report, profile("business-keys"), firm)


def test_closedloop_demo_renders_and_judges_a_profile(tmp_path):
    out = tmp_path / "lean"
    result = CliRunner().invoke(
        app, ["demo", "--profile", "lean", "--seed", "1", "--out", str(out), "--no-serve", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # progress lines go to stderr
    gaps = {g["id"] for g in doc["checks"]["coverage"]["gaps"] if g["status"] == "not covered"}
    assert gaps == set(profile("lean").not_covered)
    key = pl.read_parquet(out / "answer_key.parquet")
    assert key.height and not set(key["check_id"]) & gaps  # the estate's own key
    assert json.loads((out / "firm.json").read_text())["profile"] == "lean"
    assert (out / "exports" / "netsuite" / "_schema.json").is_file()


def test_an_unknown_profile_is_a_usage_error_naming_the_profiles(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--profile", "acme", "--out", str(tmp_path), "--no-serve"])
    assert result.exit_code == 2
    assert all(name in result.output for name in PROFILES)
    assert not (tmp_path / "exports").exists()


def test_the_cli_help_lists_every_profile():
    result = CliRunner().invoke(app, ["demo", "--help"], terminal_width=400)
    assert all(name in result.output for name in PROFILES)


def test_a_configured_name_the_source_lacks_stops_the_run_with_exit_2(firm, estates):
    """A name typed into the config that the estate does not have is a mistake, not an absence: the key,
    the source, the missing name and the closest names it has; nothing published."""
    sections = profile("own-words").config_sections()
    sections["netsuite"]["custom_fields"] |= {"custbody_sow_id": "custbody_cl_sow_idd"}
    sections["netsuite"]["custom_records"] = {"dispute": "customrecord_cl_disputes"}
    with through_sandbox(estates["own-words"], firm.params["as_of"], sections=sections) as (path, _):
        result = CliRunner().invoke(app, ["run", "--config", str(path), "--json"])
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout)
    assert not doc["published"]
    errors = "\n".join(doc["errors"])
    assert (
        "sources.netsuite.custom_fields.custbody_sow_id = 'custbody_cl_sow_idd': netsuite transaction has no"
        " field 'custbody_cl_sow_idd'" in errors
    )
    assert "sources.netsuite.custom_records.dispute = 'customrecord_cl_disputes'" in errors
    assert "closedloop discover netsuite" in errors
