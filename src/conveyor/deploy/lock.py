"""One deploy at a time per target: an flock'ed file that says who holds it.

The kernel releases an flock when its process dies, so a lock file whose holder is gone is
detected (and taken over) without guessing from timestamps; the pid, host and user written
into the file name the holder when a second deploy has to wait or give up.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from conveyor.errors import ConveyorError

POLL_SECONDS = 0.1


class LockHeldError(ConveyorError):
    """Another deploy holds the target's lock past --lock-wait."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a deploy lock."""

    pid: int
    host: str
    user: str
    since: str
    command: str = ""

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} (user {self.user}) since {self.since}"

    @classmethod
    def current(cls) -> LockHolder:
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            user=_user(),
            since=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            command=" ".join(sys.argv)[:200],
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (e.g. arbitrary uid in a container)
        return str(os.getuid())


def read_holder(text: str) -> LockHolder | None:
    """The holder recorded in a lock file's text (None when empty or unreadable)."""
    try:
        data = json.loads(text)
        return LockHolder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            user=str(data["user"]),
            since=str(data["since"]),
            command=str(data.get("command", "")),
        )
    except (ValueError, KeyError, TypeError):
        return None


class DeployLock:
    """`with DeployLock(path, wait=30):` waits up to `wait` seconds, then LockHeldError."""

    def __init__(self, path: Path, *, wait: float = 0.0, what: str = "target") -> None:
        self.path = path
        self.wait = wait
        self.what = what
        self.stale: LockHolder | None = None
        self._fd: int | None = None

    def _read(self, fd: int) -> str:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 4096).decode("utf-8", "replace")

    def acquire(self) -> DeployLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = read_holder(self._read(fd))
                    os.close(fd)
                    who = holder.describe() if holder else "another process"
                    raise LockHeldError(
                        f"deploy lock on {self.what} is held by {who}; "
                        f"gave up after waiting {self.wait:g}s",
                        hint=f"let that deploy finish, or wait longer with --lock-wait "
                        f"(lock file: {self.path})",
                    ) from None
                time.sleep(POLL_SECONDS)
        # We own the lock; anything still written in the file was left by a dead holder.
        self.stale = read_holder(self._read(fd))
        me = LockHolder.current()
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(me.__dict__).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> DeployLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
