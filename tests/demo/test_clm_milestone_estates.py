"""DocuSign CLM and Icertis holding the milestones (the clm-milestones variant): DocuSign as an array custom
provision on each SOW agreement, Icertis as its own contract type. Collected over the sandbox APIs, the estate
matches its answer key exactly, the milestones mapped from the CLM."""

from __future__ import annotations

import duckdb
import pytest

from closedloop import pipeline
from closedloop import settings as cfgmod
from closedloop.demo import write_demo
from closedloop.demo.profiles import CLM_MILESTONES, Profile
from closedloop.sandbox.demo import through_sandbox
from tests.demo.test_profiles import _judge, firm  # noqa: F401  (firm: the module's fixture)


@pytest.mark.parametrize("clm", ["docusign_clm", "icertis"])
def test_clm_held_milestones_match_the_answer_key(clm, firm, tmp_path):  # noqa: F811
    prof = Profile(
        f"{clm}-milestones",
        "milestones in the CLM",
        sources=CLM_MILESTONES.sources,
        not_covered=CLM_MILESTONES.not_covered,
        systems=("salesforce", clm, "netsuite"),
    )
    estate = write_demo(firm, tmp_path / "estate", prof)
    with through_sandbox(
        estate, firm.params["as_of"], sections=prof.config_sections(), systems=prof.systems
    ) as (
        path,
        _,
    ):
        report = pipeline.run(cfgmod.load(path), trigger="test")
    assert report.status == "ok", report.as_dict()
    con = duckdb.connect(report.warehouse_file, read_only=True)
    systems = con.execute("SELECT DISTINCT source_system FROM canon.milestone").fetchall()
    assert systems == [(clm,)]
    _judge(con, report, prof, firm)
