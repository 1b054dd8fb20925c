"""A throwaway PostgreSQL cluster on 127.0.0.1 (Debian's postgresql package): initdb + pg_ctl in a temp dir,
for the engine tests and `closedloop bench --stages engines` (a firm's own PostgreSQL is given by URL instead).

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user (runuser).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def pg_bin(name: str) -> str | None:
    """Path of a PostgreSQL server binary (on PATH or in Debian's versioned directory)."""
    found = shutil.which(name)
    if found:
        return found
    cands = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return cands[-1] if cands else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb, start, stop; `url` is a SQLAlchemy URL with the password the cluster requires."""

    password = "s3cret-pw"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="closedloop-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> Cluster:
        if self.user:
            shutil.chown(self.root, self.user)
            os.chmod(self.root, 0o700)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if self.user:
            shutil.chown(pwfile, self.user)
        self._run(
            pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "closedloop",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C",
        )
        self._run(
            pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.root / "log"),
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        return self

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://closedloop@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
