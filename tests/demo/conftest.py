"""Shared tier-s firms (generated once per session: generation is deterministic)."""

from __future__ import annotations

import pytest

from closedloop.demo import Firm, generate_firm


@pytest.fixture(scope="session")
def firm() -> Firm:
    return generate_firm("s", seed=11)


@pytest.fixture(scope="session")
def clean_firm() -> Firm:
    return generate_firm("s", seed=11, defects=False)
