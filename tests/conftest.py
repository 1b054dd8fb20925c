"""Shared fixtures: every test gets its own data directory and never reads the developer's config."""

from __future__ import annotations

import os
import shutil

import pytest

from closedloop.engines.pgcluster import Cluster, pg_bin

pytest.register_assert_rewrite("tests.engines.equality")  # its asserts show the rows that differ


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch, tmp_path):
    monkeypatch.delenv("CLOSEDLOOP_CONFIG", raising=False)
    for key in list(os.environ):
        if key.startswith("CLOSEDLOOP_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def pg():
    """One throwaway PostgreSQL cluster on 127.0.0.1 for the session (Debian's postgresql, as `make test` installs)."""
    if not pg_bin("initdb"):
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def spark():
    """One Spark local[2] session for the session's equality tests (pyspark and Debian's headless JRE, as
    `make test` installs them)."""
    from closedloop.engines import open_engine

    if not shutil.which("java"):
        pytest.fail("no Java runtime: `make test` installs Debian's default-jre-headless")
    engine = open_engine("spark", "local[2]")
    yield engine
    engine.close()
