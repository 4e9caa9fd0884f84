"""Deploy lock: one holder at a time, named when another waits; dead holders detected."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from conveyor.deploy.lock import DeployLock, LockHeldError, LockHolder, read_holder


def _hold(
    path: str, ready: multiprocessing.synchronize.Event, leave: multiprocessing.synchronize.Event
) -> None:
    with DeployLock(Path(path)):
        ready.set()
        leave.wait(10)


def _die_holding(path: str) -> None:
    DeployLock(Path(path)).acquire()
    os._exit(0)  # no cleanup: the file still names this process


def test_second_holder_waits_then_fails_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "state" / "deploy.lock"
    ctx = multiprocessing.get_context("fork")
    ready, leave = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(path), ready, leave))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LockHeldError, match=f"held by pid {holder.pid} on .*waiting 0.3s"):
            DeployLock(path, wait=0.3, what="staging").acquire()
    finally:
        leave.set()
        holder.join(10)
    with DeployLock(path, wait=1) as lock:
        assert lock.stale is None  # released cleanly: nothing left behind
        assert f'"pid": {os.getpid()}' in path.read_text()
    assert path.read_text() == ""


def test_lock_of_a_dead_process_is_detected_as_stale(tmp_path: Path) -> None:
    path = tmp_path / "deploy.lock"
    child = multiprocessing.get_context("fork").Process(target=_die_holding, args=(str(path),))
    child.start()
    child.join(10)
    with DeployLock(path) as lock:
        assert lock.stale is not None
        assert lock.stale.pid == child.pid
        assert "since" in lock.stale.describe()


def test_unreadable_holder() -> None:
    assert read_holder("") is None
    assert read_holder('{"pid": "x"}') is None
    me = LockHolder.current()
    assert me.pid == os.getpid()
