"""One deploy at a time per target: a lock with a lease that lives on the target's engine.

The lock is a container named `conveyor-lock-<project>` that is created and never started:
the engine reserves container names atomically, so of two `docker create --name` calls
exactly one succeeds, from any machine that talks to that engine (DOCKER_HOST or a
docker context). Its labels name the holder (pid, PID namespace, boot, host, user, time,
command), so a second deploy that has to wait or give up says who holds it. The container
is created from an image the deploy is about to run, with `--pull never` and no network.

The lock is a lease: `lock-max-age` seconds long, renewed by the holder every third of
that, for as long as it runs (a file in the container, written with `docker cp`; labels
cannot change). Another deploy takes it over only when the lease has expired, that is when
its holder stopped renewing, however long its deploy takes; so a lease shorter than the
health timeout is fine. A holder's process is looked up only when it provably ran in this
PID namespace on this boot (same host name is not enough: a container or CI job in another
PID namespace has its own pids); a lock whose process is gone is then taken over at once.
A takeover removes the stale container by ID, so two deploys that both see it stale still
cannot both get the lock. A holder whose renewal finds its lock gone or replaced knows it
has lost it (`lost`) and must stop changing the target.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Protocol

from conveyor.errors import ConveyorError
from conveyor.tools.compose import EngineRecord

POLL_SECONDS = 0.2
LOCK_LABEL = "io.conveyor.lock"
LEASE_FILE = "/conveyor-lease.json"
_HOLDER_LABELS = ("pid", "pidns", "boot", "host", "user", "since", "lease", "command")


class LockHeldError(ConveyorError):
    """Another deploy holds the target's lock past --lock-wait."""


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="ascii").strip()
    except OSError:
        return ""


def pid_namespace() -> str:
    """This process's PID namespace (`pid:[4026531836]`), or "" when it cannot be told."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def boot_id() -> str:
    """This kernel's boot ID: a PID namespace inode is only unique within one boot."""
    return _read("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a deploy lock, and for how long a lease."""

    pid: int
    host: str
    user: str
    since: str
    command: str = ""
    pidns: str = ""
    boot: str = ""
    lease: float = 0.0

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} (user {self.user}) since {self.since}"

    def labels(self, project: str) -> dict[str, str]:
        """The labels of a lock container that names this holder."""
        return {
            LOCK_LABEL: project,
            **{f"{LOCK_LABEL}.{key}": str(getattr(self, key)) for key in _HOLDER_LABELS},
        }

    def same_pid_space(self, other: LockHolder) -> bool:
        """True only when both pids provably name processes of one PID namespace."""
        return bool(
            self.pidns
            and self.boot
            and (self.host, self.pidns, self.boot) == (other.host, other.pidns, other.boot)
        )

    @classmethod
    def current(cls, lease: float = 0.0) -> LockHolder:
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            user=_user(),
            since=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            command=" ".join(sys.argv)[:200],
            pidns=pid_namespace(),
            boot=boot_id(),
            lease=lease,
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
            pidns=labels.get(f"{LOCK_LABEL}.pidns", ""),
            boot=labels.get(f"{LOCK_LABEL}.boot", ""),
            lease=float(labels.get(f"{LOCK_LABEL}.lease", "0") or 0),
        )
    except (KeyError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """True when a process with this pid runs in this PID namespace (a zombie has ended)."""
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


def _parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def lease_expiry(holder: LockHolder, renewed: str | None, default_lease: float) -> datetime | None:
    """When the holder's lease ends: its last renewal (or start) plus its lease."""
    start = _parse_time(renewed or "") or _parse_time(holder.since)
    if start is None:
        return None
    return start + timedelta(seconds=holder.lease or default_lease)


def stale_reason(
    holder: LockHolder | None,
    *,
    renewed: str | None,
    lease: float,
    me: LockHolder,
    now: datetime,
) -> str | None:
    """Why a lock may be taken over, or None while its holder may still be deploying."""
    if holder is None:
        return "its labels name no holder"
    if holder.same_pid_space(me) and not process_alive(holder.pid):
        return "that process is gone"
    expiry = lease_expiry(holder, renewed, lease)
    if expiry is None:
        return "its time is unreadable"
    if now > expiry:
        return f"its lease expired at {expiry.isoformat(timespec='seconds')} (not renewed)"
    return None


def lease_record(lease: float, now: datetime | None = None) -> str:
    """The lease file's content: when it was renewed and until when it holds."""
    now = now or datetime.now(timezone.utc)
    return json.dumps(
        {
            "renewed": now.isoformat(timespec="seconds"),
            "expires": (now + timedelta(seconds=lease)).isoformat(timespec="seconds"),
        }
    )


def renewed_at(text: str | None) -> str | None:
    """The renewal time of a lease file (None when absent or unreadable)."""
    try:
        value = json.loads(text or "")
    except ValueError:
        return None
    renewed = value.get("renewed") if isinstance(value, dict) else None
    return str(renewed) if renewed else None


class LockEngine(Protocol):
    """What a lock is made of: a never-started container and a file in it (`Compose`), or,
    on a swarm, a service that runs no task and one of its labels
    (`conveyor.deploy.swarm_runtime.SwarmRuntime`). Creating one of a taken name fails."""

    def create_marker(self, name: str, image: str, labels: Mapping[str, str]) -> str | None:
        """Its ID, or None when the name is taken."""
        ...

    def marker(self, name: str) -> EngineRecord | None: ...

    def remove_container(self, container: str) -> None: ...

    def put_file(self, container: str, path: str, text: str) -> bool:
        """Write the lease; False when the marker is gone."""
        ...

    def read_file(self, container: str, path: str) -> str | None: ...

    def ping(self) -> str: ...


class DeployLock:
    """`with DeployLock(engine, project, image=..., wait=30):` waits, then LockHeldError.

    While held, a thread renews the lease every third of it. `stop` (e.g. a pending signal)
    is asked while waiting, so an interrupted deploy stops waiting at once.
    """

    def __init__(
        self,
        engine: LockEngine,
        project: str,
        *,
        image: str,
        wait: float = 0.0,
        max_age: float = 120.0,
        what: str = "target",
        stop: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.project = project
        self.name = f"conveyor-lock-{project}"
        self.image = image
        self.wait = wait
        self.lease = max_age
        self.what = what
        self.stop = stop
        self.stale: LockHolder | None = None
        self.stale_why = ""
        self.lost: str | None = None
        self._id: str | None = None
        self._done = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> DeployLock:
        deadline = time.monotonic() + self.wait
        me = LockHolder.current(self.lease)
        while True:
            self.stop()
            created = self.engine.create_marker(self.name, self.image, me.labels(self.project))
            if created is not None:
                self._id = created
                self._start_renewing()
                return self
            found = self.engine.marker(self.name)
            if found is None:
                continue  # released between our create and inspect: try again at once
            holder = read_holder(found.labels)
            why = stale_reason(
                holder,
                renewed=renewed_at(self.engine.read_file(found.id, LEASE_FILE)),
                lease=self.lease,
                me=me,
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
                    f"(lock: container {self.name} on the target's engine; it is taken "
                    f"over once its lease of {holder.lease if holder else self.lease:g}s "
                    "runs out unrenewed)",
                )
            time.sleep(POLL_SECONDS)

    def renew(self) -> bool:
        """Write a fresh lease; False (and `lost` set) when the lock is no longer ours."""
        if self._id is None:
            return False
        if self.engine.put_file(self._id, LEASE_FILE, lease_record(self.lease)):
            return True
        found = self.engine.marker(self.name)
        if found is None:
            self.engine.ping()  # an engine that does not answer has not lost our lock
        if found is None or found.id != self._id:
            self.lost = (
                "the deploy lock was removed" if found is None else "another deploy took it over"
            )
        return False

    def _start_renewing(self) -> None:
        self._done.clear()
        self.renew()
        self._renewer = threading.Thread(
            target=self._renew_until_released, name="conveyor-lock-lease", daemon=True
        )
        self._renewer.start()

    def _renew_until_released(self) -> None:
        while not self._done.wait(self.lease / 3):
            try:
                if not self.renew() and self.lost:
                    return
            except ConveyorError:  # the engine did not answer: try again next time
                continue

    def release(self) -> None:
        self._done.set()
        if self._renewer is not None:
            self._renewer.join(timeout=60)
            self._renewer = None
        if self._id is None:
            return
        self.engine.remove_container(self._id)  # by ID: a lock taken over is not touched
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
