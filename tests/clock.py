"""The services' clock, moved on by hand: every refresh, relay step and allocation pass reads it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from ordergate.usecases.services import Services


class MovingClock:
    """The services' clock plus `offset`. With `tick`, it no longer follows real time at all: it
    starts at the next whole minute of the services' clock and each reading is `tick` later than
    the last, so what a run reads of it (a snapshot past its TTL, say) depends on what the run
    did, not on how fast the machine did it."""

    def __init__(self, services: Services, tick: timedelta | None = None) -> None:
        self.real = services.clock
        self.offset = timedelta(0)
        self.tick = tick
        now = self.real()
        self.ticked = now.replace(second=0, microsecond=0) + timedelta(minutes=1)  # before `offset`
        services.clock = self

    def __call__(self) -> datetime:
        if self.tick is None:
            return self.real() + self.offset
        self.ticked += self.tick
        return self.ticked + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@contextmanager
def moving(services: Services, tick: timedelta | None = None) -> Iterator[MovingClock]:
    clock = MovingClock(services, tick)
    try:
        yield clock
    finally:
        services.clock = clock.real
