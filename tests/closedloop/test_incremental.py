"""Incremental pulls: the carried snapshot plus what changed since the cursor, merged by primary key."""

from __future__ import annotations

import datetime as dt
import sys
import types

from closedloop import pipeline, settings
from closedloop.warehouse import Warehouse
from collectors.base import Batch, Column, Stream

STREAM = Stream(
    "account",
    (Column("Id", required=True), Column("Name"), Column("SystemModstamp", "TIMESTAMPTZ")),
    primary_key=("Id",),
    cursor_field="SystemModstamp",
)
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _ago(**delta) -> str:
    """A modstamp relative to now, so the source is fresh for the freshness monitor."""
    return (NOW - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


# the "org": records by id with their modstamp; tests edit it between runs
ORG: dict[str, tuple[str, str]] = {}
SEEN_CURSORS: list[str | None] = []


class _Api:
    source = "crm"

    def streams(self):
        return [STREAM]

    def read(self, stream, state):
        SEEN_CURSORS.append(state.cursor)
        rows = [
            {"Id": k, "Name": n, "SystemModstamp": m}
            for k, (n, m) in sorted(ORG.items())
            if state.cursor is None or m > state.cursor
        ]
        yield Batch(rows + rows[:1])  # a page repeated verbatim: a paging artifact, dropped
        if rows:
            state.cursor = max(r["SystemModstamp"] for r in rows)


def _module():
    mod = types.ModuleType("collectors.fakecrm")
    mod.SYSTEM = "CRM"
    mod.SETTINGS = []
    mod.streams = lambda cfg: [STREAM]
    mod.api_collector = lambda cfg, secret: _Api()
    mod.MAPPING = None
    return mod


def test_incremental_merge_keeps_unchanged_rows_and_updates_changed(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "collectors.fakecrm", _module())
    ORG.clear()
    SEEN_CURSORS.clear()
    ORG.update({"A1": ("Acme", _ago(days=3)), "A2": ("Globex", _ago(days=2))})
    (tmp_path / "closedloop.toml").write_text(
        "[sources.crm]\nkind = 'fakecrm'\ntransport = 'api'\nincremental = true\n"
    )
    cfg = settings.load()
    first = pipeline.run(cfg, with_checks=False)
    assert first.status == "ok", first.errors
    assert first.sources[0].streams[0].duplicates == 1
    ORG["A2"] = ("Globex Corp", _ago(hours=2))
    ORG["A3"] = ("Initech", _ago(hours=1))
    second = pipeline.run(cfg, with_checks=False)
    assert second.status == "ok", second.errors
    assert SEEN_CURSORS == [None, _ago(days=2)]
    con = Warehouse.at(cfg.data_dir).connect_published()
    rows = con.execute("SELECT Id, Name FROM raw.crm__account ORDER BY Id").fetchall()
    assert rows == [("A1", "Acme"), ("A2", "Globex Corp"), ("A3", "Initech")]
    cursor = con.execute("SELECT cursor FROM meta.stream_state WHERE source = 'crm'").fetchone()[0]
    assert cursor == _ago(hours=1)
    con.close()
