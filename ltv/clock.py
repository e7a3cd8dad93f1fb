"""Clocks: the only source of "now" for the core, injectable for tests and replays."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_s(self) -> int:
        """Whole seconds since the Unix epoch, UTC."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now_s(self) -> int:
        return int(time.time())


class FixedClock:
    """A clock that stands still until told to move: for tests and replays."""

    def __init__(self, at: datetime | int) -> None:
        self._lock = threading.Lock()
        self._now_s = at if isinstance(at, int) else int(at.timestamp())

    def now_s(self) -> int:
        with self._lock:
            return self._now_s

    def set(self, at: datetime | int) -> None:
        with self._lock:
            self._now_s = at if isinstance(at, int) else int(at.timestamp())

    def advance(self, seconds: int) -> None:
        with self._lock:
            self._now_s += seconds


def to_datetime(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)
