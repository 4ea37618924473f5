"""Time as a dependency.

Everything that decides *when* (the worker, the planner, the sandbox's simulation, metric sync)
takes a :class:`Clock` instead of calling ``datetime.now()``, so tests and the demo can run weeks
of history in seconds and DST edge cases can be pinned exactly.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A source of the current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SimulatedClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=max(0.0, seconds)))
        await asyncio.sleep(0)

    def advance(self, delta: timedelta) -> None:
        self._now = self._now + delta

    def set(self, moment: datetime) -> None:
        """Move to ``moment``; moving backwards is a bug in the caller."""
        moment = ensure_utc(moment)
        if moment < self._now:
            raise ValueError(f"SimulatedClock cannot go back from {self._now} to {moment}")
        self._now = moment


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` as aware UTC; naive values are taken to be UTC already.

    SQLite hands back naive datetimes for timezone-aware columns, so every read goes through here.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
