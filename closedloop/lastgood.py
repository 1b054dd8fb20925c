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
    ) -> None:
        self.path = str(path) if path else None
        self.good = good
        self.validate = validate  # more than parsing: e.g. `serve` checks crons and webhooks
        self.broken: Broken | None = None
        self._lock = threading.Lock()

    def load(self) -> tuple[cfgmod.Config, Broken | None, bool]:
        """(config to use, what is broken or None, whether the state changed: broke, changed error, mended).

        With no good config yet, the ConfigError propagates: there is nothing safe to fall back on.
        """
        try:
            cfg = cfgmod.load(self.path)
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


_APP = LastGood()  # the app's config ($CLOSEDLOOP_CONFIG or ./closedloop.toml), for the whole server process


def app_config() -> cfgmod.Config:
    """The app's config, or the last good one while the file does not parse (see `app_broken`)."""
    return _APP.load()[0]


def app_broken() -> Broken | None:
    """What the app's config file is failing with now, if anything (read after `app_config`)."""
    return _APP.broken
