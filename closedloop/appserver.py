"""How the app is started, one command line for `closedloop serve`, the page benchmark and the browser tests.

The server runs from the project root, so its .streamlit/config.toml (theme, no file watching) applies
wherever the command was typed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app" / "serve.py"


def command(port: int, address: str = "127.0.0.1") -> list[str]:
    """`streamlit run` of the app on address:port, headless; run it with cwd=ROOT."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.address", address, "--server.headless", "true"]  # fmt: skip
