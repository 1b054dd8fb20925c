"""One PostgreSQL cluster per test session (started here, from Debian's packages)."""

from __future__ import annotations

import pytest

from tests.engines.pgcluster import Cluster, pg_bin


@pytest.fixture(scope="session")
def pg():
    if not pg_bin("initdb"):
        pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    cluster = Cluster().start()
    yield cluster
    cluster.stop()
