"""One deploy at a time per target: a lock that lives on the target's Docker engine.

The lock is a container named `conveyor-lock-<project>` that is created and never started:
the engine reserves container names atomically, so of two `docker create --name` calls
exactly one succeeds, from any machine that talks to that engine (DOCKER_HOST or a
docker context). Its labels name the holder (pid, host, user, time, command), so a second
deploy that has to wait or give up says who holds it. (`docker volume create` is not
exclusive, it returns an existing volume; `docker network create` refuses a taken name but
only by a best-effort check.) The container is created from an image the deploy is about
to run, which is already on the engine, with `--pull never` and no network.

A lock is stale, and taken over, when its holder ran on this host and that process is gone,
or when it is older than `lock-max-age`. A holder on another machine that died (a killed CI
runner) therefore blocks deploys until that age passes; `docker rm conveyor-lock-<project>`
clears it sooner. A takeover removes the stale container by ID, so two deploys that both
see it stale still cannot both get the lock.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from conveyor.errors import ConveyorError
from conveyor.tools.compose import Compose

POLL_SECONDS = 0.2
LOCK_LABEL = "io.conveyor.lock"
_HOLDER_LABELS = ("pid", "host", "user", "since", "command")


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

    def labels(self, project: str) -> dict[str, str]:
        """The labels of a lock container that names this holder."""
        return {
            LOCK_LABEL: project,
            **{f"{LOCK_LABEL}.{key}": str(getattr(self, key)) for key in _HOLDER_LABELS},
        }

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


def read_holder(labels: Mapping[str, str]) -> LockHolder | None:
    """The holder named by a lock container's labels (None when they are not a holder's)."""
    try:
        return LockHolder(
            pid=int(labels[f"{LOCK_LABEL}.pid"]),
            host=labels[f"{LOCK_LABEL}.host"],
            user=labels[f"{LOCK_LABEL}.user"],
            since=labels[f"{LOCK_LABEL}.since"],
            command=labels.get(f"{LOCK_LABEL}.command", ""),
        )
    except (KeyError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """True when a process with this pid runs on this host (a zombie has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:  # no procfs (macOS): existence is all we know
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def age_seconds(holder: LockHolder, now: datetime) -> float | None:
    """Seconds since the holder took the lock (None when its time is unreadable)."""
    try:
        since = datetime.fromisoformat(holder.since)
    except ValueError:
        return None
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return (now - since).total_seconds()


def stale_reason(
    holder: LockHolder | None, *, max_age: float, host: str, now: datetime
) -> str | None:
    """Why a lock may be taken over, or None while its holder may still be deploying."""
    if holder is None:
        return "its labels name no holder"
    if holder.host == host and not process_alive(holder.pid):
        return "that process is gone"
    age = age_seconds(holder, now)
    if age is None or age > max_age:
        return f"older than lock-max-age ({max_age:g}s)"
    return None


class DeployLock:
    """`with DeployLock(engine, project, image=..., wait=30):` waits, then LockHeldError."""

    def __init__(
        self,
        engine: Compose,
        project: str,
        *,
        image: str,
        wait: float = 0.0,
        max_age: float = 3600.0,
        what: str = "target",
    ) -> None:
        self.engine = engine
        self.project = project
        self.name = f"conveyor-lock-{project}"
        self.image = image
        self.wait = wait
        self.max_age = max_age
        self.what = what
        self.stale: LockHolder | None = None
        self.stale_why = ""
        self._id: str | None = None

    def acquire(self) -> DeployLock:
        deadline = time.monotonic() + self.wait
        me = LockHolder.current()
        while True:
            created = self.engine.create_marker(self.name, self.image, me.labels(self.project))
            if created is not None:
                self._id = created
                return self
            found = self.engine.marker(self.name)
            if found is None:
                continue  # released between our create and inspect: try again at once
            holder = read_holder(found.labels)
            why = stale_reason(
                holder,
                max_age=self.max_age,
                host=socket.gethostname(),
                now=datetime.now(timezone.utc),
            )
            if why is not None:
                self.engine.remove_container(found.id)  # by ID: never a newer holder's lock
                self.stale, self.stale_why = holder, why
                continue
            if time.monotonic() >= deadline:
                who = holder.describe() if holder else "another process"
                raise LockHeldError(
                    f"deploy lock on {self.what} is held by {who}; "
                    f"gave up after waiting {self.wait:g}s",
                    hint=f"let that deploy finish, or wait longer with --lock-wait "
                    f"(lock: container {self.name} on the target's engine)",
                )
            time.sleep(POLL_SECONDS)

    def release(self) -> None:
        if self._id is None:
            return
        self.engine.remove_container(self._id)
        self._id = None

    def __enter__(self) -> DeployLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
