"""Keys and links round trip: an estate with opaque Ironclad record ids (numbers in properties, references by
record id) and NetSuite projects keyed and referenced by entity id maps back to the same canonical model.

Only what names a record in its own system differs: an Ironclad row's source_id is its opaque record id, and
project ids are entity ids because project_key = 'entityid' makes them the canonical key.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from closedloop import trace
from closedloop.demo.firm.schema import canon_schema
from closedloop.demo.render.netsuite import project_entityids
from collectors.netsuite.keys import PROJECT_REFS
from tests.checks.test_keys_links import OPAQUE_IRONCLAD
from tests.collectors import firm_fixture
from tests.collectors.roundtrip import canon_frame, round_trip, stable

CONFIG = {
    "ironclad": OPAQUE_IRONCLAD,
    "netsuite": {
        "project_key": "entityid",
        "project_links": dict.fromkeys(list(PROJECT_REFS)[::2], "entityid"),
    },
}
IRONCLAD_TABLES = {"contract", "sow", "amendment", "rate_card", "milestone"}


@pytest.fixture(scope="module")
def truth() -> firm_fixture.TruthFirm:
    return firm_fixture.build()


@pytest.fixture(scope="module")
def canon(truth, tmp_path_factory):
    return round_trip(truth, tmp_path_factory.mktemp("keys-rt"), CONFIG)


@pytest.mark.parametrize("table", sorted(set(canon_schema()) - {"snapshot_meta"}))
def test_table_round_trips(canon, truth, table):
    expected, got = truth.tables[table], canon_frame(canon, table)
    if "correlation_id" in expected.columns and table != "integration_event":
        expected = expected.with_columns(
            correlation_id=pl.Series(truth.expected_corr[table], dtype=pl.String)
        )
    if "project_id" in expected.columns:
        ids = project_entityids(truth)
        expected = expected.with_columns(
            project_id=pl.col("project_id").replace_strict(
                ids, default=pl.col("project_id"), return_dtype=pl.String
            )
        )
    if (
        table in IRONCLAD_TABLES and table != "rate_card"
    ):  # rate card lines keep their ids (keys has no rate_card)
        ironclad = pl.col("source_system") == "ironclad"
        assert (
            got.filter(ironclad)["source_id"].str.len_chars().to_list() == [36] * got.filter(ironclad).height
        )
        expected, got = expected.drop("source_id"), got.drop("source_id")
    assert_frame_equal(got, stable(expected), check_exact=True)


def test_the_estate_is_what_the_settings_say(canon):
    """Every other stream links by entity id (timebill, transaction, …), expense lines by internal id."""
    raw = canon.execute("SELECT id, properties FROM raw.ironclad__amendment").fetchone()
    assert len(raw[0]) == 36 and '"amendmentId"' in raw[1]
    assert (
        canon.execute("SELECT count(*) FROM raw.netsuite__transaction WHERE job LIKE 'PRJ%'").fetchone()[0]
        > 0
    )
    assert (
        canon.execute(
            "SELECT count(*) FROM raw.netsuite__expense_line WHERE customer LIKE 'PRJ%'"
        ).fetchone()[0]
        == 0
    )


def test_the_trace_finds_a_record_by_the_id_its_own_system_shows(canon, truth):
    amendment_id, record_id = canon.execute("SELECT amendment_id, source_id FROM canon.amendment").fetchone()
    _, matches = trace.lookup(canon, record_id)
    assert [(m.entity_type, m.entity_id) for m in matches] == [("amendment", amendment_id)]
    internal = truth.tables["project"]["project_id"][0]
    _, matches = trace.lookup(canon, internal)
    assert ("project", project_entityids(truth)[internal]) in [(m.entity_type, m.entity_id) for m in matches]
