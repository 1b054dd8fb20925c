"""Every config error is exit 2 with a message naming the key and the file, from the real command line; and a
run with no config at all is refused (exit 2) instead of publishing an empty warehouse as good."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def closedloop(cwd, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSEDLOOP_")}
    env.update(PYTHONPATH=os.pathsep.join(sys.path), COLUMNS="400")  # no line wrapping in the messages
    return subprocess.run(
        [sys.executable, "-m", "closedloop.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


CASES = {
    "memory_limit": (
        b'[warehouse]\nmemory_limit = "lots"\n',
        "key 'warehouse.memory_limit': 'lots' is not a memory size",
    ),
    "threads": (b"[warehouse]\nthreads = 0\n", "key 'warehouse.threads': 0 is below the minimum 1"),
    "retention": (
        b"[warehouse]\nretention_runs = -1\n",
        "key 'warehouse.retention_runs': -1 is below the minimum 0",
    ),
    "type": (
        b"[warehouse]\nretention_runs = 'ten'\n",
        "key 'warehouse.retention_runs': expected int, got str",
    ),
    "binary": (bytes(range(256)) * 4, "not a TOML text file (not UTF-8 at byte 128)"),
    "latin-1": (
        "[closedloop]\ndata_dir = 'données'\n".encode("latin-1"),
        "not a TOML text file (not UTF-8 at byte",
    ),
    "section typo": (
        b"[wharehouse]\nthreads = 2\n",
        "unknown section 'wharehouse' (did you mean 'warehouse'?)",
    ),
    "section": (b"[nonsense]\nx = 1\n", "unknown section 'nonsense' (known: "),
    "key typo": (
        b"[warehouse]\nretension_runs = 3\n",
        "unknown key 'warehouse.retension_runs' (did you mean 'retention_runs'?)",
    ),
    "sources not a table": (b"sources = 3\n", "'sources' must be a table"),
    "toml": (b"[closedloop\n", "not valid TOML"),
    "choice": (
        b"[sources.db]\nkind = 'sql'\ntransport = 'ftp'\nurl = 'x'\n",
        "key 'sources.db.transport': 'ftp' is not one of files, api",
    ),
    "source key": (
        b"[sources.\"crm'; DROP TABLE x; --\"]\nkind = 'files'\npath = 'x'\n",
        "section 'sources.crm'; DROP TABLE x; --': a name is letters, digits and underscores",
    ),
    "stream name": (
        b"[sources.crm]\nkind = 'files'\npath = 'x'\nstreams = {\"acc ounts\" = 'a.csv'}\n",
        "key 'sources.crm.streams': stream name 'acc ounts': a name is letters, digits and underscores",
    ),
    "date": (b"[closedloop]\nas_of = '31/10/2026'\n", "key 'closedloop.as_of': '31/10/2026' is not a date"),
    "engine kind": (
        b"[engine]\nkind = 'snowflake'\nurl = 'x'\n",
        "key 'engine.kind': 'snowflake' is not one of duckdb, postgres, spark",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_config_error_is_exit_2_naming_the_key_and_the_file(tmp_path, monkeypatch, case):
    from typer.testing import CliRunner

    from closedloop import cli

    monkeypatch.setattr(cli.console, "width", 400)  # no line wrapping in the messages
    content, message = CASES[case]
    (tmp_path / "closedloop.toml").write_bytes(content)
    for args in (["run"], ["run", "--config", "closedloop.toml"], ["runs"], ["serve", "--no-app"]):
        res = CliRunner().invoke(cli.app, args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.stderr and str(tmp_path / "closedloop.toml") in res.stderr, res.stderr
    assert not (tmp_path / "data").exists()  # nothing collected, nothing published


@pytest.mark.parametrize("case", ["memory_limit", "binary", "section typo"])
def test_the_real_command_line_exits_2_with_no_traceback(tmp_path, case):
    content, message = CASES[case]
    (tmp_path / "closedloop.toml").write_bytes(content)
    res = closedloop(tmp_path, "run")
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not (tmp_path / "data").exists()


def test_run_without_a_config_is_refused_and_creates_nothing(tmp_path):
    for cmd in ("run", "collect"):
        res = closedloop(tmp_path, *([cmd, "crm"] if cmd == "collect" else [cmd]))
        assert res.returncode == 2, res.stderr
        assert (
            "no configuration: pass --config, set $CLOSEDLOOP_CONFIG or create ./closedloop.toml"
            in res.stderr
        )
    assert list(tmp_path.iterdir()) == []
