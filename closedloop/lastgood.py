"""The last config that parsed, for long-running processes (`serve`, the app): a typo made while they run
is reported once, with its file, error and since when, and they carry on with the last good config."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from closedloop import settings as cfgmod


@dataclass(frozen=True)
class Broken:
    """A config file that stopped parsing: which file, which error, since when (UTC)."""

    file: str
    error: str
    since: dt.datetime


class LastGood:
    """Load the config each time it is asked for; on a ConfigError, hand back the last good one instead."""

    def __init__(
        self,
        path: str | Path | None = None,
        good: cfgmod.Config | None = None,
        validate: Callable[[cfgmod.Config], None] | None = None,
        loader: Callable[[str | None], cfgmod.Config] | None = None,
    ) -> None:
        self.path = str(path) if path else None
        self.loader = loader  # default cfgmod.load, looked up at each call
        self.good = good
        self.validate = validate  # more than parsing: e.g. `serve` checks crons and webhooks
        self.broken: Broken | None = None
        self._lock = threading.Lock()

    def load(self) -> tuple[cfgmod.Config, Broken | None, bool]:
        """(config to use, what is broken or None, whether the state changed: broke, changed error, mended).

        With no good config yet, the ConfigError propagates: there is nothing safe to fall back on.
        """
        try:
            cfg = (self.loader or cfgmod.load)(self.path)
            if self.validate is not None:
                self.validate(cfg)
        except cfgmod.ConfigError as exc:
            with self._lock:
                if self.good is None:
                    raise
                error = str(exc)
                changed = self.broken is None or self.broken.error != error
                if changed:
                    since = self.broken.since if self.broken else dt.datetime.now(dt.UTC)
                    self.broken = Broken(self._file(), error, since)
                return self.good, self.broken, changed
        with self._lock:
            mended = self.broken is not None
            self.good, self.broken = cfg, None
            return cfg, None, mended

    def _file(self) -> str:
        if self.path:
            return str(Path(self.path).resolve())
        return str(self.good.path) if self.good and self.good.path else "<defaults>"


_parsed: dict[tuple, cfgmod.Config] = {}


def parsed_once(path: str | None = None) -> cfgmod.Config:
    """cfgmod.load(path), parsed once per version of the config file rather than several times in every script
    run of every session (its validation was a third of a cached page's run). A changed file (its size, mtime or
    inode) is read again; a missing or broken one goes to cfgmod.load, which says what is wrong."""
    candidate = cfgmod.locate(path)  # where cfgmod.load will look
    if candidate is None:
        return cfgmod.load(path)
    try:
        stat = candidate.stat()
    except OSError:
        return cfgmod.load(path)
    key = (str(candidate.absolute()), stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cfg = _parsed.get(key)
    if cfg is None:
        cfg = cfgmod.load(path)
        if len(_parsed) > 8:
            _parsed.clear()
        _parsed[key] = cfg
    return cfg


# the app's config ($CLOSEDLOOP_CONFIG or ./closedloop.toml), for the whole server process
_APP = LastGood(loader=parsed_once)


def app_config() -> cfgmod.Config:
    """The app's config, or the last good one while the file does not parse (see `app_broken`)."""
    return _APP.load()[0]


def app_broken() -> Broken | None:
    """What the app's config file is failing with now, if anything (read after `app_config`)."""
    return _APP.broken
