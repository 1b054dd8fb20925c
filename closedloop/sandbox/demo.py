"""`closedloop demo` through the sandbox: serve the demo's exports, point the API transports at them."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from closedloop.demo.config import DEFAULT_SYSTEMS, write_demo_config
from closedloop.sandbox.faults import Fault
from closedloop.sandbox.server import Sandbox
from closedloop.sandbox.state import Credentials, PageCaps

SANDBOX_CONFIG = "closedloop.sandbox.toml"


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for a block and put the old values back (the run's dummy secrets)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def through_sandbox(
    out_dir: Path,
    as_of: dt.date,
    *,
    faults: list[Fault] | None = None,
    caps: PageCaps | None = None,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
    systems: tuple[str, ...] = DEFAULT_SYSTEMS,
) -> Iterator[tuple[Path, Sandbox]]:
    """Start a sandbox over out_dir/exports, write its config (API transports; NetSuite bulk streams from
    exports/netsuite; `sections`: the estate's own settings per source; `systems`: its vendor sources), set the dummy secrets as
    CLOSEDLOOP_<SOURCE>_<NAME>; stop and unset on exit."""
    out_dir = Path(out_dir)
    creds = Credentials.with_keypair()  # the M2M assertions are signed and verified for real
    with Sandbox(out_dir / "exports", credentials=creds, faults=faults, caps=caps) as sandbox:
        api = sandbox.source_config(bulk_path="exports/netsuite")
        path = write_demo_config(
            out_dir, as_of, api=api, name=SANDBOX_CONFIG, sections=sections, systems=systems
        )
        with environment(sandbox.secrets()):
            yield path, sandbox
