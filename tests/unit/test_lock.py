"""Deploy lock holders: their labels, their lease, and when a lock counts as stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from conveyor.deploy.lock import (
    LOCK_LABEL,
    LockHolder,
    boot_id,
    lease_expiry,
    lease_record,
    pid_namespace,
    process_alive,
    read_holder,
    renewed_at,
    stale_reason,
)
from tests.conftest import unavailable

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
ME = LockHolder(pid=1, host="here", user="me", since="", pidns="pid:[1]", boot="b-1")


def holder(
    pid: int,
    host: str = "here",
    minutes_ago: float = 1,
    *,
    pidns: str = "pid:[1]",
    boot: str = "b-1",
    lease: float = 0.0,
) -> LockHolder:
    since = (NOW - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")
    return LockHolder(
        pid=pid, host=host, user="me", since=since, pidns=pidns, boot=boot, lease=lease
    )


def stale(who: LockHolder | None, renewed: str | None = None, lease: float = 3600) -> str | None:
    return stale_reason(who, renewed=renewed, lease=lease, me=ME, now=NOW)


def dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_holder_round_trips_through_labels() -> None:
    me = LockHolder.current(lease=90)
    labels = me.labels("demo-staging")
    assert labels[LOCK_LABEL] == "demo-staging"
    assert labels[f"{LOCK_LABEL}.pid"] == str(os.getpid())
    assert labels[f"{LOCK_LABEL}.pidns"] == pid_namespace()
    assert labels[f"{LOCK_LABEL}.lease"] == "90"
    assert read_holder(labels) == me
    assert f"pid {me.pid} on {me.host}" in me.describe()


def test_this_process_knows_its_pid_namespace_and_boot() -> None:
    if not os.path.exists("/proc/self/ns/pid"):
        unavailable("no procfs namespaces on this platform")
    assert pid_namespace().startswith("pid:[")
    assert len(boot_id()) == 36


def test_labels_that_name_no_holder() -> None:
    assert read_holder({}) is None
    assert read_holder({**holder(1).labels("p"), f"{LOCK_LABEL}.pid": "x"}) is None
    assert stale(None) == "its labels name no holder"


def test_a_holder_of_an_older_version_has_no_namespace_and_the_default_lease() -> None:
    labels = {k: v for k, v in holder(5).labels("p").items() if not k.endswith(("pidns", "lease"))}
    old = read_holder(labels)
    assert old is not None
    assert (old.pidns, old.lease) == ("", 0.0)
    assert not old.same_pid_space(ME)


def test_a_live_holder_is_not_stale() -> None:
    assert stale(holder(os.getpid())) is None


def test_a_dead_holder_in_this_pid_namespace_is_stale_at_once() -> None:
    assert stale(holder(dead_pid())) == "that process is gone"


@pytest.mark.parametrize(
    "elsewhere",
    [
        {"pidns": "pid:[2]"},  # same host name, another PID namespace (a container, a CI job)
        {"boot": "b-2"},  # the namespace inode of another boot
        {"host": "ci-runner-7"},
        {"pidns": ""},  # a holder that could not tell its namespace
    ],
)
def test_a_pid_of_another_pid_space_says_nothing(elsewhere: dict[str, str]) -> None:
    other = holder(dead_pid(), **elsewhere)  # type: ignore[arg-type]
    assert stale(other) is None  # its lease still runs
    assert stale(other, lease=30) is not None  # only its lease decides


def test_the_lease_runs_from_the_last_renewal() -> None:
    old = holder(1, host="ci-runner-7", minutes_ago=10, lease=120)
    assert stale(old) == "its lease expired at 2026-01-01T11:52:00+00:00 (not renewed)"
    renewed = (NOW - timedelta(seconds=30)).isoformat(timespec="seconds")
    assert stale(old, renewed=renewed) is None
    assert lease_expiry(old, renewed, 3600) == NOW + timedelta(seconds=90)
    assert lease_expiry(holder(1, lease=0), None, 60) == NOW  # the default lease
    garbled = LockHolder(pid=1, host="ci-runner-7", user="x", since="yesterday")
    assert stale(garbled) == "its time is unreadable"


def test_lease_file_round_trip() -> None:
    text = lease_record(120, NOW)
    assert json.loads(text) == {
        "renewed": "2026-01-01T12:00:00+00:00",
        "expires": "2026-01-01T12:02:00+00:00",
    }
    assert renewed_at(text) == "2026-01-01T12:00:00+00:00"
    for broken in (None, "", "{", "[]", "{}"):
        assert renewed_at(broken) is None


def test_a_zombie_holder_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while process_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)  # exited but not yet reaped: a zombie
        assert not process_alive(child.pid)
        os.kill(child.pid, 0)  # the pid still exists until it is reaped
    finally:
        child.wait()
