"""The demo's own configuration: every vendor source reading the generated exports of one firm."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

DEMO_SOURCES = ("reference", "salesforce", "ironclad", "netsuite", "middleware")


def demo_toml(as_of: dt.date, *, transport: str = "files", extra: str = "") -> str:
    """A closedloop.toml for a demo directory (paths relative to it), as a newcomer would write one."""
    lines = [
        "# Written by `closedloop demo`: the demo firm's sources, read from its vendor-shaped exports.",
        "[closedloop]",
        'data_dir = "."',
        f'as_of = "{as_of.isoformat()}"',
        "",
    ]
    for key in DEMO_SOURCES:
        lines += [
            f"[sources.{key}]",
            f'transport = "{transport if key not in ("reference", "middleware") else "files"}"',
        ]
        lines += [f'path = "exports/{key}"', ""]
    return "\n".join(lines) + extra


def write_demo_config(out_dir: Path, as_of: dt.date, *, transport: str = "files", extra: str = "") -> Path:
    path = Path(out_dir) / "closedloop.toml"
    path.write_text(demo_toml(as_of, transport=transport, extra=extra), encoding="utf-8")
    return path
