"""SIGINT/SIGTERM during a deploy: never lost, never obeyed where obeying would do harm.

One guard covers the whole deploy, from before the lock is taken until after it is
released, so a signal can neither leave the lock behind nor go unnoticed. While the guard is
`armed` (health wait, smoke tests) a signal raises `Interrupted` at once, which rolls back.
Otherwise it is noted as `pending`, and the deploy acts on it at its next step boundary
(`check()`): before anything changed it stops there; during `compose up` it lets `up`
finish, then rolls back; during a rollback it lets the rollback finish; after the release
went live it is reported when the deploy ends (a non-zero exit, so CI sees it).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived while a deploy was in flight."""

    def __init__(self, name: str) -> None:
        super().__init__(f"interrupted by {name}")
        self.signal_name = name

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by this signal (130, 143)."""
        return 128 + int(signal.Signals[self.signal_name])


@dataclass
class SignalGuard:
    """While `armed`, SIGINT/SIGTERM raise Interrupted; otherwise they are noted for later."""

    armed: bool = False
    pending: str | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self.pending = self.pending or name
        if self.armed:
            self.armed = False
            raise Interrupted(name)

    def check(self) -> None:
        """Raise Interrupted if a signal arrived since the guard was installed."""
        if self.pending:
            raise Interrupted(self.pending)


@contextmanager
def signals_as_errors() -> Iterator[SignalGuard]:
    """Route SIGINT/SIGTERM to a guard for the duration (restoring the old handlers)."""
    guard = SignalGuard()
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in previous:
        signal.signal(sig, guard.handle)
    try:
        yield guard
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
