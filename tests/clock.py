"""The services' clock, moved on by hand: every refresh, relay step and allocation pass reads it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from ordergate.usecases.services import Services


class MovingClock:
    def __init__(self, services: Services) -> None:
        self.real = services.clock
        self.offset = timedelta(0)
        services.clock = self

    def __call__(self) -> datetime:
        return self.real() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@contextmanager
def moving(services: Services) -> Iterator[MovingClock]:
    clock = MovingClock(services)
    try:
        yield clock
    finally:
        services.clock = clock.real
