"""The files transport: CSV, JSON (and vendor envelopes), JSON lines, Parquet; globbing; clear errors."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import polars as pl
import pytest

from collectors.base import Column, Stream
from collectors.files import FilesCollector
from collectors.runner import collect_source

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
STREAM = Stream(
    "invoice", (Column("id", required=True), Column("amount", "DECIMAL(18,2)")), file_pattern="invoice*"
)


def collect(tmp_path, stream=STREAM):
    con = duckdb.connect()
    res = collect_source(con, FilesCollector("erp", tmp_path, [stream]), run_id="r", extracted_at=NOW)
    return con, res


@pytest.mark.parametrize(
    "name,content",
    [
        ("invoice.csv", "id,amount\n1,10.50\n2,20\n"),
        ("invoice.jsonl", '{"id": "1", "amount": "10.50"}\n\n{"id": "2", "amount": 20}\n'),
        ("invoice.json", json.dumps([{"id": "1", "amount": 10.5}, {"id": "2", "amount": "20"}])),
        (
            "invoice.json",
            json.dumps(
                {
                    "totalSize": 2,
                    "done": True,
                    "records": [{"id": "1", "amount": 10.5}, {"id": 2, "amount": 20}],
                }
            ),
        ),
        (
            "invoice.json",
            json.dumps(
                {
                    "count": 2,
                    "hasMore": False,
                    "items": [{"id": "1", "amount": "10.5"}, {"id": "2", "amount": "20"}],
                }
            ),
        ),
    ],
)
def test_each_format_lands_the_same_rows(tmp_path, name, content):
    (tmp_path / name).write_text(content)
    con, res = collect(tmp_path)
    assert res.status == "ok", res.errors
    assert con.execute(
        "SELECT sum(amount), count(*), min(_source_file) FROM raw.erp__invoice"
    ).fetchone() == (pytest.approx(30.5), 2, name)


def test_parquet_and_globbing_keep_per_file_lineage(tmp_path):
    pl.DataFrame({"id": ["1", "2"], "amount": [1.0, 2.0]}).write_parquet(tmp_path / "invoice_2025.parquet")
    pl.DataFrame({"id": ["3"], "amount": [3.0]}).write_parquet(tmp_path / "invoice_2026.parquet")
    con, res = collect(tmp_path)
    assert res.streams[0].files == 2
    rows = con.execute("SELECT id, _source_file, _source_row FROM raw.erp__invoice ORDER BY id").fetchall()
    assert rows == [
        ("1", "invoice_2025.parquet", 1),
        ("2", "invoice_2025.parquet", 2),
        ("3", "invoice_2026.parquet", 1),
    ]


@pytest.mark.parametrize(
    "name,content,expected",
    [
        (
            "invoice.csv",
            "id,amount\n1,10\n2,20,99\n",
            "file invoice.csv, row 2: row has 3 fields, header has 2",
        ),
        ("invoice.csv", "ident,amount\n1,10\n", "file invoice.csv: required column(s) id absent"),
        (
            "invoice.csv",
            "id,amount\n1,ten\n",
            "file invoice.csv, row 1: column 'amount': value 'ten' is not a valid DECIMAL(18,2)",
        ),
        ("invoice.jsonl", '{"id": "1"}\n{"id": "2",\n', "file invoice.jsonl, row 2: malformed JSON"),
        ("invoice.json", '{"records": [1, 2]}', "file invoice.json, row 1: record is a JSON int"),
        ("invoice.csv", "", "file invoice.csv: file is empty"),
    ],
)
def test_bad_files_are_named_with_file_and_row(tmp_path, name, content, expected):
    (tmp_path / name).write_text(content)
    _, res = collect(tmp_path)
    assert res.status == "failed"
    assert expected in res.streams[0].error
    assert res.streams[0].error.startswith("source erp, stream invoice")


def test_a_bad_row_after_the_first_batches_fails_the_stream_and_keeps_nothing_of_it(tmp_path):
    # CSV is streamed: batches before the bad row have been appended when it is read; the stream rolls back
    good = 600_000  # more than one columnar batch
    lines = ["id,amount", *(f"{i},1" for i in range(1, good + 1)), f"{good + 1},1,99", f"{good + 2},1"]
    (tmp_path / "invoice.csv").write_text("\n".join(lines) + "\n")
    con, res = collect(tmp_path)
    assert res.status == "failed"
    assert f"file invoice.csv, row {good + 1}: row has 3 fields, header has 2" in res.streams[0].error
    assert con.execute("SELECT count(*) FROM raw.erp__invoice").fetchone() == (0,)


def test_missing_export_file_is_an_absent_stream_and_a_missing_directory_an_error(tmp_path):
    # a firm exports what it has: a stream without its file is absent (empty table), the source stays ok
    con, res = collect(tmp_path)
    assert res.status == "ok" and res.errors == []
    assert res.streams[0].status == "absent" and res.streams[0].error is None
    assert "no file matches 'invoice*'" in res.streams[0].absent_reason
    assert con.execute("SELECT count(*) FROM raw.erp__invoice").fetchone() == (0,)
    _, res = collect(tmp_path / "nowhere")
    assert "does not exist" in res.errors[0]
