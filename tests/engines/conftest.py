"""Engine fixtures beyond the session's PostgreSQL cluster (tests/conftest.py)."""
