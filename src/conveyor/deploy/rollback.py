"""Going back: the compose configuration a release ran with, its services pinned to its images.

The recorded configuration (`compose config` output stored in the ledger) is written to a
scratch file and used instead of today's compose files, so the release comes back with the
services, ports and environment it had. The pin is a small compose file layered on top that
only sets images: a reference that now points at a different image (a moved tag) is pinned
by image ID instead.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from conveyor.deploy.ledger import ServiceImage
from conveyor.tools.compose import Compose


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived while a deploy was in flight."""

    def __init__(self, name: str) -> None:
        super().__init__(f"interrupted by {name}")
        self.signal_name = name


@dataclass
class SignalGuard:
    """While `armed`, SIGINT/SIGTERM raise Interrupted; otherwise they are noted for later."""

    armed: bool = False
    pending: str | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.armed:
            self.armed = False
            raise Interrupted(name)
        self.pending = name


@contextmanager
def signals_as_errors() -> Iterator[SignalGuard]:
    """Route SIGINT/SIGTERM to a guard for the duration (restoring the old handlers)."""
    guard = SignalGuard()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, guard.handle)
    try:
        yield guard
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def pinned_images(compose: Compose, services: Mapping[str, ServiceImage]) -> dict[str, str]:
    """Service -> the reference to run: the recorded one if it still names the same image."""
    pins: dict[str, str] = {}
    for name, recorded in services.items():
        current = compose.image_id(recorded.image) if recorded.image else None
        pins[name] = recorded.image if current == recorded.image_id else recorded.image_id
    return pins


def write_pin_file(path: Path, pins: Mapping[str, str]) -> Path:
    """A compose overlay that only sets `image:` per service (JSON is valid YAML)."""
    body = {"services": {name: {"image": image} for name, image in sorted(pins.items())}}
    return _write(path, json.dumps(body, indent=2) + "\n")


def write_snapshot(path: Path, config: str) -> Path:
    """A recorded `compose config` output as a compose file."""
    return _write(path, config)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(text, encoding="utf-8")
    os.replace(scratch, path)
    return path
