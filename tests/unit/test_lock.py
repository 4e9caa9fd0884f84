"""Deploy lock holders: their labels, and when a lock counts as stale."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from conveyor.deploy.lock import (
    LOCK_LABEL,
    LockHolder,
    process_alive,
    read_holder,
    stale_reason,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def holder(pid: int, host: str = "here", minutes_ago: float = 1) -> LockHolder:
    since = (NOW - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")
    return LockHolder(pid=pid, host=host, user="me", since=since)


def dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_holder_round_trips_through_labels() -> None:
    me = LockHolder.current()
    labels = me.labels("demo-staging")
    assert labels[LOCK_LABEL] == "demo-staging"
    assert labels[f"{LOCK_LABEL}.pid"] == str(os.getpid())
    assert read_holder(labels) == me
    assert f"pid {me.pid} on {me.host}" in me.describe()


def test_labels_that_name_no_holder() -> None:
    assert read_holder({}) is None
    assert read_holder({**holder(1).labels("p"), f"{LOCK_LABEL}.pid": "x"}) is None
    assert stale_reason(None, max_age=60, host="here", now=NOW) == "its labels name no holder"


def test_a_live_holder_is_not_stale() -> None:
    assert stale_reason(holder(os.getpid()), max_age=3600, host="here", now=NOW) is None


def test_a_dead_holder_on_this_host_is_stale() -> None:
    reason = stale_reason(holder(dead_pid()), max_age=3600, host="here", now=NOW)
    assert reason == "that process is gone"


def test_a_holder_elsewhere_is_stale_only_when_old() -> None:
    remote = holder(dead_pid(), host="ci-runner-7", minutes_ago=5)
    assert stale_reason(remote, max_age=3600, host="here", now=NOW) is None
    old = holder(os.getpid(), host="ci-runner-7", minutes_ago=61)
    assert stale_reason(old, max_age=3600, host="here", now=NOW) == (
        "older than lock-max-age (3600s)"
    )
    garbled = LockHolder(pid=1, host="ci-runner-7", user="x", since="yesterday")
    assert stale_reason(garbled, max_age=3600, host="here", now=NOW) is not None


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
