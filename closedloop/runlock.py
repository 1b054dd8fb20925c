"""One run at a time per data directory: an OS file lock, released by the kernel even on SIGKILL."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path


class RunInProgress(Exception):
    """Another process holds the run lock; the message says which run and since when."""


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs on this host (a zombie, killed but not yet reaped, is dead)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:  # /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces and parentheses
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


class RunLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "run.lock"
        self._fh = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (the caller is the one run allowed to write)."""
        return self._fh is not None

    def holder(self) -> dict | None:
        """The run that holds the lock as the lock file names it ({run_id, pid}), or None when its
        process is gone. Read without taking the lock, so a reader never makes a starting run fail."""
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(doc, dict) or not pid_alive(doc.get("pid")):
            return None
        return doc

    def acquire(self, run_id: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            try:
                holder = json.loads(fh.read() or "{}")
            except json.JSONDecodeError:
                holder = {}
            fh.close()
            raise RunInProgress(
                f"a run is already in progress (run {holder.get('run_id', '?')}, pid {holder.get('pid', '?')}); "
                "try again when it finishes"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"run_id": run_id, "pid": os.getpid()}))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            # the file no longer names a live run: readers see the holder gone at once
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.flush()
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
