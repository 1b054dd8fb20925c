"""The runner: casting vendor strings, lineage columns, bad rows named by file and row, rollback."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from collectors.base import Batch, CollectorError, Column, Stream, StreamState
from collectors.runner import collect_source, create_raw_table, write_batch

STREAM = Stream(
    name="job",
    primary_key=("id",),
    columns=(
        Column("id", "VARCHAR", required=True),
        Column("budget", "DECIMAL(18,2)"),
        Column("isinactive", "BOOLEAN"),
        Column("startdate", "DATE"),
        Column("lastmodifieddate", "TIMESTAMPTZ"),
        Column("hours", "DOUBLE"),
        Column("attributes", "JSON"),
    ),
)
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone='UTC'")
    yield c
    c.close()


def test_vendor_strings_are_cast_to_declared_types(con):
    create_raw_table(con, "netsuite", STREAM)
    records = [
        {
            "id": "101",
            "budget": "125000.50",
            "isinactive": "F",
            "startdate": "5/31/2024",
            "lastmodifieddate": "2024-05-31T14:03:12.000+0000",
            "hours": "7.5",
            "attributes": {"type": "Job"},
        },
        {"id": "102", "isinactive": "T", "startdate": "2024-06-01"},  # NetSuite omits null columns
    ]
    n, extra, _missing = write_batch(
        con, "netsuite", STREAM, Batch(records, "job.jsonl", 1), run_id="r1", extracted_at=NOW
    )
    assert n == 2 and not extra
    rows = con.execute(
        "SELECT id, budget, isinactive, startdate, lastmodifieddate, hours, attributes->>'type',"
        " _run_id, _source, _stream, _source_file, _source_row FROM raw.netsuite__job ORDER BY id"
    ).fetchall()
    assert rows[0][:7] == (
        "101",
        Decimal("125000.50"),
        False,
        dt.date(2024, 5, 31),
        dt.datetime(2024, 5, 31, 14, 3, 12, tzinfo=dt.UTC),
        7.5,
        "Job",
    )
    assert rows[1][1] is None and rows[1][2] is True and rows[1][3] == dt.date(2024, 6, 1)
    assert rows[1][7:] == ("r1", "netsuite", "job", "job.jsonl", 2)


def test_arrow_batches_take_the_same_path(con):
    create_raw_table(con, "netsuite", STREAM)
    table = pa.table({"id": ["1", "2"], "budget": ["10", ""], "hours": ["1", "2.25"], "unknown": ["x", "y"]})
    n, extra, missing = write_batch(
        con, "netsuite", STREAM, Batch(table, "job.csv", 1), run_id="r", extracted_at=NOW
    )
    assert n == 2 and extra == {"unknown"} and "isinactive" in missing
    assert con.execute("SELECT sum(hours), count(budget) FROM raw.netsuite__job").fetchone() == (3.25, 1)


def test_a_value_that_cannot_be_cast_names_file_row_and_column(con):
    create_raw_table(con, "netsuite", STREAM)
    records = [{"id": "1", "budget": "12"}, {"id": "2", "budget": "12,5x"}]
    with pytest.raises(CollectorError) as err:
        write_batch(
            con, "netsuite", STREAM, Batch(records, "exports/job.jsonl", 10), run_id="r", extracted_at=NOW
        )
    msg = str(err.value)
    assert "exports/job.jsonl" in msg and "row 11" in msg and "'budget'" in msg and "DECIMAL" in msg


def test_required_column_empty_is_an_error(con):
    create_raw_table(con, "netsuite", STREAM)
    with pytest.raises(CollectorError, match=r"row 2.*'id'.*required"):
        write_batch(
            con, "netsuite", STREAM, Batch([{"id": "1"}, {"id": ""}], "f", 1), run_id="r", extracted_at=NOW
        )


def test_required_column_absent_from_the_header_is_an_error(con):
    create_raw_table(con, "netsuite", STREAM)
    with pytest.raises(CollectorError, match=r"file job.csv.*required column\(s\) id absent"):
        write_batch(
            con,
            "netsuite",
            STREAM,
            Batch(pa.table({"budget": ["1"]}), "job.csv"),
            run_id="r",
            extracted_at=NOW,
        )


class _Flaky:
    """A source whose second stream breaks after yielding one good batch."""

    source = "flaky"

    def streams(self):
        return [Stream("good", (Column("id"),)), Stream("bad", (Column("id"),))]

    def read(self, stream, state: StreamState):
        yield Batch([{"id": "1"}, {"id": "2"}], f"{stream.name}.jsonl")
        if stream.name == "bad":
            raise CollectorError("page 2 was truncated", file="bad.jsonl", row=3)


def test_a_failing_stream_is_rolled_back_and_recorded_while_others_land(con):
    res = collect_source(con, _Flaky(), run_id="r", extracted_at=NOW)
    assert res.status == "failed"
    good, bad = res.streams
    assert good.rows == 2 and good.error is None
    assert (
        bad.rows == 0 and bad.error == "source flaky, stream bad, file bad.jsonl, row 3: page 2 was truncated"
    )
    assert con.execute("SELECT count(*) FROM raw.flaky__good").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM raw.flaky__bad").fetchone()[0] == 0
