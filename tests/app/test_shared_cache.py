"""Cached queries are shared by everyone with the same view (roles, scope, masking) and never across views."""

from __future__ import annotations

import ast
from pathlib import Path

from app import queries as q
from app import queries_overview as qo
from closedloop.access import MASKED, Principal, Scope

FINANCE = frozenset({"finance"})


def _counting(monkeypatch, name: str) -> list[str]:
    calls: list[str] = []
    real = getattr(q, name)

    def counted(path, sql, params=None):
        calls.append(sql)
        return real(path, sql, params)

    monkeypatch.setattr(q, name, counted)
    return calls


def test_two_people_with_one_view_share_one_computed_result(site, monkeypatch):
    run = q.published()
    calls = _counting(monkeypatch, "_pl")
    alice = q.check_runs(run.path, Principal("alice@firm.example", FINANCE))
    bob = q.check_runs(run.path, Principal("bob@firm.example", FINANCE))
    assert len(calls) == 1  # bob's session read alice's result: no second query
    assert alice.equals(bob)


def test_another_scope_or_masking_is_computed_for_itself_and_sees_only_its_rows(site, monkeypatch):
    run = q.published()
    calls = _counting(monkeypatch, "_rows")
    whole = qo.kind_totals(run.path, run.run_id, Principal("alice@firm.example", FINANCE))
    scoped = qo.kind_totals(
        run.path, run.run_id, Principal("carol@firm.example", FINANCE, Scope(clients=("C-NOBODY",)))
    )
    masked = qo.kind_totals(
        run.path, run.run_id, Principal("dan@firm.example", FINANCE, masked=frozenset({"amounts"}))
    )
    assert len(calls) == 3  # one query per view, none served from another view's entry
    assert sum(k["cases"] for k in whole.values()) > 0
    assert sum(k["cases"] for k in scoped.values()) == 0  # a client nobody has: no rows leak in
    assert masked["leakage"]["amount"] == MASKED and whole["leakage"]["amount"] != MASKED
    # the same view again, by yet another person: served from the cache
    again = qo.kind_totals(
        run.path, run.run_id, Principal("erin@firm.example", FINANCE, Scope(clients=("C-NOBODY",)))
    )
    assert len(calls) == 3 and again == scoped


def test_no_cached_query_reads_who_the_person_is():
    """The cache key leaves the actor out (q.view), so a cached function must not depend on it."""
    app = Path(q.__file__).parent
    for path in sorted(app.glob("queries*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            cached = any("cache_data" in ast.unparse(d) for d in fn.decorator_list)
            if not cached:
                continue
            assert "hash_funcs=VIEW" in "".join(ast.unparse(d) for d in fn.decorator_list), (path, fn.name)
            attrs = {n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute)}
            assert not attrs & {"actor", "local"}, f"{path.name}: {fn.name} reads who the person is"


def test_the_config_is_parsed_once_per_version_of_its_file(tmp_path, monkeypatch):
    from closedloop import lastgood, settings

    path = tmp_path / "closedloop.toml"
    path.write_text('[closedloop]\ndata_dir = "one"\n', encoding="utf-8")
    monkeypatch.setenv(settings.ENV_CONFIG, str(path))
    monkeypatch.setattr(lastgood, "_APP", lastgood.LastGood(loader=lastgood.parsed_once))
    parsed: list[int] = []
    real = settings.load
    monkeypatch.setattr(settings, "load", lambda p=None: parsed.append(1) or real(p))
    assert q.config().data_dir.name == "one" and q.config().data_dir.name == "one"
    assert len(parsed) == 1  # the second script run reads the parsed config
    path.write_text('[closedloop]\ndata_dir = "second"\n', encoding="utf-8")
    assert q.config().data_dir.name == "second" and len(parsed) == 2  # an edited file is read again
    path.write_text('[closedloop]\ndata_dir = "broken\n', encoding="utf-8")
    # a typo made while the app runs: the last good config, and what is broken (Data health shows it)
    assert q.config().data_dir.name == "second"
    broken = lastgood.app_broken()
    assert broken is not None and broken.file == str(path.resolve()) and "closedloop.toml" in broken.error
