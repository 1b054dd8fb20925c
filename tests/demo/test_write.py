"""write_demo puts the answer key, KPI truth and parameters next to the vendor exports."""

from __future__ import annotations

import json

import polars as pl

import closedloop.demo.exports as exports
from closedloop.demo import write_demo


def test_write_demo_files(firm, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        exports, "render_exports", lambda f, out, config=None, systems=None: calls.append((out, systems))
    )
    out = write_demo(firm, tmp_path)
    assert calls == [(tmp_path / "exports", ("salesforce", "ironclad", "netsuite"))]
    key = pl.read_parquet(out / "answer_key.parquet")
    assert key.height == firm.answer_key.height and key.schema["impact_rc"] == pl.Decimal(18, 2)
    assert json.loads((out / "kpi_truth.json").read_text())["K01"]["n_sows"] > 0
    assert json.loads((out / "firm.json").read_text())["tier"] == "s"
