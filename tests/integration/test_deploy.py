"""`inv deploy` / `inv rollback` / `inv releases` against the real engine, fault by fault.

One live target (the demo on release `good`) is shared by the module: every fault must
leave the release that was serving before it still serving, which is what each test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from invoke.exceptions import Exit

from conveyor.config import load_project
from conveyor.deploy.ledger import ComposeFile, Ledger, ReleaseSource
from conveyor.deploy.lock import (
    LEASE_FILE,
    DeployLock,
    LockHeldError,
    LockHolder,
    boot_id,
    pid_namespace,
    process_alive,
)
from conveyor.deploy.orchestrate import Deployer
from conveyor.deploy.target import resolve_target
from conveyor.errors import ConfigError, ToolFailedError
from conveyor.runner import Completed, Runner
from conveyor.tasks.deploy import deploy, releases, rollback
from conveyor.tools.compose import Compose, ComposeTarget
from tests.conftest import unavailable
from tests.integration._demo import (
    BAD,
    BASE_IMAGE,
    CRASH,
    DEMO_REPOSITORY,
    GOOD,
    GOOD2,
    NO_USER,
    DemoTarget,
    docker,
    make_target,
    wait_for,
)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def live(demo_images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTarget]:
    """The demo deployed to `staging` on release `good`."""
    target = make_target(tmp_path_factory.mktemp("live"), smoke=("/health", "/"))
    try:
        deploy(target.context(), "staging", tag=GOOD)
        assert target.serving_release() == GOOD
        yield target
    finally:
        target.down()


def ledger_of(target: DemoTarget) -> Ledger:
    resolved = resolve_target(load_project(target.root), "staging")
    return Ledger(Compose(resolved.compose), env="staging", project=resolved.compose.project)


def failed_deploy(target: DemoTarget, tag: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run a deploy that must fail; its stderr."""
    with pytest.raises(Exit) as exit_info:
        deploy(target.context(), "staging", tag=tag)
    assert exit_info.value.code == 1
    return capsys.readouterr().err


def test_deploy_records_release_and_rollback_restores_the_previous(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(live.context(), "staging", tag=GOOD2)
    assert live.serving_release() == GOOD2
    report = json.loads((live.root / "reports" / "deploy-staging.json").read_text())
    assert report["ok"] is True
    assert [s["status"] for s in report["smoke"]] == [200, 200]
    history = ledger_of(live).releases()
    assert report["release"]["id"] == history[-1].id
    assert history[-1].outcome == "deployed"
    assert history[-1].services["app"].image == f"{DEMO_REPOSITORY}:{GOOD2}"
    assert "@" in history[-1].by

    rollback(live.context(), "staging")
    assert live.serving_release() == GOOD
    last = ledger_of(live).releases()[-1]
    assert last.outcome == "rolled-back"
    assert last.services["app"].image == f"{DEMO_REPOSITORY}:{GOOD}"

    capsys.readouterr()
    releases(live.context(), "staging")
    table = capsys.readouterr().out
    assert "(live)" in table
    assert f"app={DEMO_REPOSITORY}:{GOOD2}" in table


def test_never_healthy_release_is_rolled_back(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    before = live.serving_release()
    err = failed_deploy(live, BAD, capsys)
    assert "app is unhealthy" in err
    assert "APP_FORCE_UNHEALTHY=1" in err  # the probe output is shown
    assert "rolled back to release" in err
    assert live.serving_release() == before
    assert ledger_of(live).releases()[-1].outcome == "failed"
    report = json.loads((live.root / "reports" / "deploy-staging.json").read_text())
    assert report["ok"] is False
    assert report["failure"].endswith("app is unhealthy")
    assert report["restored_healthy"] is True
    assert {r["service"]: r["health"] for r in report["running"]} == {
        "app": "healthy",
        "store": "healthy",
    }


def test_failed_smoke_test_is_rolled_back(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = live.root / "pyproject.toml"
    config = pyproject.read_text()
    pyproject.write_text(config.replace('{ path = "/", status = 200', '{ path = "/", status = 204'))
    before = live.serving_release()
    try:
        err = failed_deploy(live, GOOD2, capsys)
    finally:
        pyproject.write_text(config)
    assert f"smoke test failed: GET http://127.0.0.1:{live.port}/ -> 200 (expected 204" in err
    assert "rolled back to release" in err
    assert live.serving_release() == before


def test_crash_loop_is_rolled_back_with_its_logs(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    before = live.serving_release()
    err = failed_deploy(live, CRASH, capsys)
    assert "app is crash-looping" in err or "app exited with code 3" in err
    assert "boot failed: no config" in err  # the container's own logs
    assert live.serving_release() == before


def test_container_that_cannot_start_is_rolled_back(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    before = live.serving_release()
    err = failed_deploy(live, NO_USER, capsys)
    assert "starting the release failed: docker compose: exited 1" in err
    assert "nosuchuser" in err
    assert live.serving_release() == before


def test_taken_port_is_named_and_nothing_changes(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    containers = live.containers()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        live.write_env(APP_PORT=str(taken))
        try:
            with pytest.raises(Exit) as exit_info:
                deploy(live.context(), "staging", tag=GOOD2)
        finally:
            live.write_env()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"port {taken} (service app)" in err
    assert live.containers() == containers
    assert live.serving_release() == GOOD


def test_sigterm_while_waiting_for_health_restores_the_previous_release(
    live: DemoTarget,
) -> None:
    before = live.serving_release()
    child = live.invoke("deploy", "--env", "staging", "--tag", BAD)
    try:
        started = wait_for(lambda: "bad" in _app_image(live), timeout=60)
        assert started, "the new release never started"
        child.send_signal(signal.SIGTERM)
        # A second signal while it rolls back must not cut the rollback short.
        assert wait_for(lambda: "conveyor-demo-it:good" in _app_image(live), timeout=60)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 1, err
    assert "interrupted by SIGTERM" in err
    assert "SIGTERM arrived during the rollback; it finished first" in err
    assert live.serving_release() == before


def test_second_deploy_waits_for_the_lock_then_refuses(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    first = live.invoke("deploy", "--env", "staging", "--tag", GOOD2)
    try:
        assert wait_for(lambda: live.lock_holder().get("io.conveyor.lock.pid") == str(first.pid))
        with pytest.raises(Exit) as exit_info:
            deploy(live.context(), "staging", tag=GOOD, lock_wait="0.5")
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert f"held by pid {first.pid}" in err
        assert "waiting 0.5s" in err
        _, first_err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, first_err
    assert live.lock_holder() == {}  # released
    assert live.serving_release() == GOOD2
    # A deploy that may wait long enough gets the lock once it is free.
    deploy(live.context(), "staging", tag=GOOD, lock_wait="30")
    assert live.serving_release() == GOOD


def _plant_lock(target: DemoTarget, holder: LockHolder) -> None:
    labels = [a for k, v in holder.labels(target.project).items() for a in ("--label", f"{k}={v}")]
    assert target.lock_holder() == {}, "a lock left over by an earlier test"
    docker("create", "--name", f"conveyor-lock-{target.project}", *labels, BASE_IMAGE)


def test_stale_lock_of_a_dead_process_is_taken_over(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid now names no process
    young = datetime.now(timezone.utc).isoformat(timespec="seconds")
    holder = LockHolder(gone.pid, socket.gethostname(), "x", young,
                        pidns=pid_namespace(), boot=boot_id(), lease=3600)  # fmt: skip
    _plant_lock(live, holder)  # its lease runs for an hour, but it ran here and is gone
    deploy(live.context(), "staging", tag=GOOD, lock_wait="5")
    err = capsys.readouterr().err
    assert f"stale deploy lock (pid {gone.pid} on {socket.gethostname()}" in err
    assert "that process is gone" in err
    assert live.lock_holder() == {}


def test_old_lock_of_another_host_is_taken_over_but_a_young_one_is_not(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    young = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _plant_lock(live, LockHolder(1, "ci-runner-gone", "ci", young))
    with pytest.raises(Exit):
        deploy(live.context(), "staging", tag=GOOD, lock_wait="0.3")
    assert "held by pid 1 on ci-runner-gone" in capsys.readouterr().err
    docker("rm", "-f", f"conveyor-lock-{live.project}")
    _plant_lock(live, LockHolder(1, "ci-runner-gone", "ci", "2020-01-01T00:00:00+00:00"))
    deploy(live.context(), "staging", tag=GOOD)
    assert "its lease expired at 2020-01-01T00:02:00+00:00 (not renewed)" in (
        capsys.readouterr().err
    )
    assert live.serving_release() == GOOD


def test_unreachable_daemon_is_one_line(
    live: DemoTarget, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(Exit) as exit_info:
        deploy(live.context(), "staging", tag=GOOD2)
    assert exit_info.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("error: docker: cannot reach the Docker engine")
    assert "unix:///nonexistent/docker.sock" in first
    monkeypatch.delenv("DOCKER_HOST")
    assert live.serving_release() == GOOD


def test_malformed_compose_file_fails_before_anything_changes(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    containers = live.containers()
    overlay = live.root / "compose.staging.yaml"
    good_text = overlay.read_text()
    overlay.write_text("services:\n  app:\n    ports: [unclosed\n")
    try:
        with pytest.raises(Exit) as exit_info:
            deploy(live.context(), "staging", tag=GOOD2)
    finally:
        overlay.write_text(good_text)
    assert exit_info.value.code == 2
    assert "error: invalid compose configuration" in capsys.readouterr().err
    assert live.containers() == containers


@pytest.mark.parametrize(
    ("env", "message"),
    [("qa", "unknown environment 'qa' (known: production, staging)"),
     ("Prod;rm", "invalid environment name 'Prod;rm'")],
)  # fmt: skip
def test_bad_environment_fails_before_anything_changes(
    live: DemoTarget, capsys: pytest.CaptureFixture[str], env: str, message: str
) -> None:
    containers = live.containers()
    with pytest.raises(Exit):
        deploy(live.context(), env, tag=GOOD2)
    assert message in capsys.readouterr().err
    assert live.containers() == containers


def test_missing_image_fails_before_anything_changes(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    containers = live.containers()
    with pytest.raises(Exit):
        deploy(live.context(), "staging", tag="never-built")
    assert f"image {DEMO_REPOSITORY}:never-built of service app" in capsys.readouterr().err
    assert live.containers() == containers


def test_failed_first_deploy_leaves_nothing_running(
    demo_images: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = make_target(tmp_path)
    try:
        err = failed_deploy(target, BAD, capsys)
        assert "no previous release" in err
        assert target.containers() == {}
    finally:
        target.down()


def test_lock_held_in_process_blocks_a_deployer(live: DemoTarget) -> None:
    resolved = resolve_target(load_project(live.root), "staging", GOOD2)
    engine = Compose(resolved.compose)
    with DeployLock(engine, resolved.compose.project, image=BASE_IMAGE, wait=5) as held:
        assert live.lock_holder()["io.conveyor.lock.pid"] == str(os.getpid())
        with pytest.raises(LockHeldError, match=f"held by pid {os.getpid()}"):
            DeployLock(engine, resolved.compose.project, image=BASE_IMAGE, wait=0.3).acquire()
        assert held.name == f"conveyor-lock-{live.project}"
        deployer = Deployer(resolved, root=str(live.root), lock_wait=0.2)
        with pytest.raises(LockHeldError):
            deployer.deploy()
    assert live.serving_release() == GOOD


def _app_image(target: DemoTarget) -> str:
    containers = target.containers()
    if "app" not in containers:
        return ""
    return docker("inspect", "-f", "{{.Config.Image}}", containers["app"], check=False).stdout


def test_rollback_pins_the_recorded_image_when_its_tag_has_moved(
    live: DemoTarget,
) -> None:
    good_id = docker(
        "image", "inspect", "-f", "{{.Id}}", f"{DEMO_REPOSITORY}:{GOOD}"
    ).stdout.strip()
    deploy(live.context(), "staging", tag=GOOD)
    good_release = ledger_of(live).releases()[-1].id
    deploy(live.context(), "staging", tag=GOOD2)
    docker("tag", f"{DEMO_REPOSITORY}:{GOOD2}", f"{DEMO_REPOSITORY}:{GOOD}")  # the tag moves
    try:
        rollback(live.context(), "staging", to=str(good_release))
        assert live.serving_release() == GOOD
        assert ledger_of(live).releases()[-1].services["app"].image_id == good_id
    finally:
        docker("tag", good_id, f"{DEMO_REPOSITORY}:{GOOD}")


def test_production_deploy_with_yes(
    demo_images: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    target = make_target(tmp_path)
    prod = DemoTarget(root=target.root, project=f"{target.project}-prod", port=target.port)
    try:
        with pytest.raises(Exit) as exit_info:
            deploy(target.context(), "production", tag=GOOD)
        assert exit_info.value.code == 2
        assert prod.containers() == {}
        deploy(target.context(), "production", tag=GOOD, yes=True)
        assert prod.serving_release() == GOOD
        assert set(prod.containers()) == {"app", "store"}
    finally:
        prod.down()


def test_sigint_to_the_process_group_cannot_cut_the_rollback_short(live: DemoTarget) -> None:
    """A terminal's Ctrl-C reaches the whole foreground group; compose must not die of it."""
    before = live.serving_release()
    child = live.invoke("deploy", "--env", "staging", "--tag", BAD, new_session=True)
    try:
        assert wait_for(lambda: "bad" in _app_image(live), timeout=60), "never started"
        os.killpg(child.pid, signal.SIGINT)
        # Keep pressing Ctrl-C while the rollback's `compose up` replaces the bad container.
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            image = _app_image(live)
            if image and "bad" not in image:
                break
            os.killpg(child.pid, signal.SIGINT)
            time.sleep(0.1)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 1, err
    assert "interrupted by SIGINT" in err
    assert "rolled back to release" in err
    assert live.serving_release() == before


SIDECAR = """
  sidecar:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    stop_signal: SIGKILL
"""


def test_ledger_lives_on_the_engine_and_restores_a_removed_service(
    demo_images: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = make_target(tmp_path)
    overlay = target.root / "compose.staging.yaml"
    without = overlay.read_text()
    try:
        overlay.write_text(without + SIDECAR)
        deploy(target.context(), "staging", tag=GOOD)
        assert set(target.containers()) == {"app", "store", "sidecar"}
        overlay.write_text(without)  # the next release drops the sidecar
        deploy(target.context(), "staging", tag=GOOD2)
        assert set(target.containers()) == {"app", "store"}

        # Another machine: nothing kept locally (the state dir only ignores itself).
        state = target.root / ".conveyor"
        assert [p.name for p in state.rglob("*") if p.is_file()] == [".gitignore"]
        shutil.rmtree(state)
        listing = target.invoke("releases", "--env", "staging")
        out, err = listing.communicate(timeout=60)
        assert listing.returncode == 0, err
        assert "2 (live)" in out
        assert f"app={DEMO_REPOSITORY}:{GOOD}" in out
        back = target.invoke("rollback", "--env", "staging")
        _, err = back.communicate(timeout=180)
        assert back.returncode == 0, err
        assert target.serving_release() == GOOD
        assert set(target.containers()) == {"app", "store", "sidecar"}

        # A failed release without the sidecar: the automatic rollback brings it back too.
        err = failed_deploy(target, BAD, capsys)
        assert "rolled back to release 3" in err
        assert set(target.containers()) == {"app", "store", "sidecar"}
        assert target.serving_release() == GOOD
        history = ledger_of(target).releases()
        assert [r.outcome for r in history] == ["deployed", "deployed", "rolled-back", "failed"]
        assert "sidecar:" in history[0].compose_files[-1].text
        assert "sidecar:" not in history[-1].compose_files[-1].text
    finally:
        overlay.write_text(without + SIDECAR)  # so `down` removes the sidecar as well
        target.down()


def test_racing_lock_takers_get_exactly_one_lock(repo_base_image: str, tmp_path: Path) -> None:
    """`docker create --name` is exclusive on the engine: of simultaneous takers one wins."""
    project = f"cvit-race-{os.getpid()}"
    engine = Compose(ComposeTarget(files=(tmp_path / "unused.yaml",), project=project))
    locks = [DeployLock(engine, project, image=repo_base_image) for _ in range(4)]

    def take(lock: DeployLock) -> bool:
        try:
            lock.acquire()
        except LockHeldError:
            return False
        return True

    try:
        with ThreadPoolExecutor(max_workers=len(locks)) as pool:
            won = list(pool.map(take, locks))
        assert won.count(True) == 1
    finally:
        for lock in locks:
            lock.release()
    assert docker("container", "inspect", f"conveyor-lock-{project}", check=False).returncode


def test_ledger_on_the_engine_refuses_clobbering_and_names_bad_records(
    repo_base_image: str, tmp_path: Path
) -> None:
    project = f"cvit-ledger-{os.getpid()}"
    engine = Compose(ComposeTarget(files=(tmp_path / "unused.yaml",), project=project))
    ledger = Ledger(engine, env="staging", project=project)
    squatter = ledger.volume_name(1)
    try:
        docker("volume", "create", squatter)  # the name is taken, without a record
        with pytest.raises(ConfigError, match=f"volume {squatter} already holds another record"):
            ledger.record({}, outcome="deployed", git_sha=None)
        docker("volume", "rm", squatter)
        source = ReleaseSource((ComposeFile(path="compose.yaml", text="services: {}\n"),))
        first = ledger.record({}, outcome="deployed", git_sha="abc", source=source)
        assert Ledger(engine, env="staging", project=project).releases() == [first]
        docker("volume", "create", "--label", f"io.conveyor.ledger={project}", squatter + "x")
        with pytest.raises(ConfigError, match=f"volume {squatter}x: unreadable release record"):
            ledger.releases()
        with pytest.raises(ToolFailedError, match="could not create conveyor-lock-"):
            DeployLock(engine, project, image="conveyor-never-built:none").acquire()
    finally:
        names = docker(
            "volume", "ls", "-q", "--filter", f"label=io.conveyor.ledger={project}"
        ).stdout.split()
        docker("volume", "rm", "-f", squatter, *names, check=False)


def _compose_up_child(parent: int) -> bool:
    """True while `parent` runs a `compose ... up` child."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == parent and b"up" in cmdline and b"--no-build" in cmdline:
            return True
    return False


def test_sigterm_during_compose_up_lets_it_finish_then_rolls_back(live: DemoTarget) -> None:
    before = live.serving_release()
    child = live.invoke("deploy", "--env", "staging", "--tag", BAD, new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _compose_up_child(child.pid):
            assert time.monotonic() < deadline, "compose up never started"
            time.sleep(0.01)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 1, err
    assert "interrupted by SIGTERM" in err
    failed = ledger_of(live).releases()[-1]
    assert failed.outcome == "failed"
    assert failed.services["app"].image == f"{DEMO_REPOSITORY}:{BAD}"  # `up` had finished
    assert live.serving_release() == before


HOLDER = """
import sys, time
from conveyor.deploy.lock import DeployLock
from conveyor.tools.compose import Compose, ComposeTarget
from pathlib import Path
project, image = sys.argv[1], sys.argv[2]
engine = Compose(ComposeTarget(files=(Path("unused.yaml"),), project=project))
lock = DeployLock(engine, project, image=image, max_age=3600).acquire()
print("held", flush=True)
sys.stdin.read()
"""


def _dead_pid() -> int:
    """A pid no process of this PID namespace has (low, so this namespace will not reach it)."""
    return next(pid for pid in range(400, 4000) if not process_alive(pid))


def test_a_lock_holder_in_another_pid_namespace_keeps_its_lock(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same host name, another PID namespace: its pid says nothing about it here."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        unavailable("needs root and unshare (util-linux) to make a PID namespace")
    pid = _dead_pid()
    burn = f"i=0; while [ $i -lt {pid - 2} ]; do /bin/true; i=$((i+1)); done"
    holder = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", "sh", "-c",
         f'{burn}; "$0" -c "$1" "$2" "$3"', sys.executable, HOLDER, live.project, BASE_IMAGE],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        labels = live.lock_holder()
        assert labels["io.conveyor.lock.pid"] == str(pid)  # its pid in its own namespace
        assert labels["io.conveyor.lock.host"] == socket.gethostname()
        assert labels["io.conveyor.lock.pidns"] != pid_namespace()
        assert not process_alive(pid)  # "gone", judged by pid from here
        with pytest.raises(Exit) as exit_info:
            deploy(live.context(), "staging", tag=GOOD2, lock_wait="1")
        assert exit_info.value.code == 2
        assert f"held by pid {pid} on {socket.gethostname()}" in capsys.readouterr().err
        assert live.lock_holder()["io.conveyor.lock.pid"] == str(pid)
        assert live.serving_release() == GOOD
    finally:
        holder.kill()
        holder.wait()
        docker("rm", "-f", f"conveyor-lock-{live.project}", check=False)


def test_the_lease_is_renewed_while_the_lock_is_held(live: DemoTarget) -> None:
    resolved = resolve_target(load_project(live.root), "staging")
    engine = Compose(resolved.compose)
    project = resolved.compose.project
    with DeployLock(engine, project, image=BASE_IMAGE, max_age=5) as held:
        first = engine.read_file(held.name, LEASE_FILE)
        time.sleep(7)  # longer than the lease: only renewals keep it
        renewed = engine.read_file(held.name, LEASE_FILE)
        assert first is not None
        assert renewed is not None
        assert json.loads(renewed)["renewed"] > json.loads(first)["renewed"]
        with pytest.raises(LockHeldError, match=f"held by pid {os.getpid()}") as refused:
            DeployLock(engine, project, image=BASE_IMAGE, max_age=5).acquire()
        assert "taken over once its lease of 5s runs out unrenewed" in refused.value.hint
        assert held.lost is None
        assert held.renew()
        docker("rm", "-f", held.name)  # someone removed it by hand
        assert not held.renew()
        assert held.lost == "the deploy lock was removed"
    assert live.lock_holder() == {}


def _waiting_for_the_lock(parent: int, name: str) -> bool:
    """True while `parent` runs a docker child that asks about lock `name`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == parent and any(name.encode() in arg for arg in cmdline):
            return True
    return False


def test_sigterm_while_waiting_for_the_lock_stops_and_leaves_no_lock(live: DemoTarget) -> None:
    resolved = resolve_target(load_project(live.root), "staging")
    engine = Compose(resolved.compose)
    containers = live.containers()
    with DeployLock(engine, resolved.compose.project, image=BASE_IMAGE):
        child = live.invoke("deploy", "--env", "staging", "--tag", GOOD2, "--lock-wait", "120")
        try:
            lock = f"conveyor-lock-{live.project}"
            assert wait_for(lambda: _waiting_for_the_lock(child.pid, lock), timeout=60)
            child.send_signal(signal.SIGTERM)
            _, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == 1, err
        assert "interrupted by SIGTERM before anything changed" in err
        assert live.lock_holder()["io.conveyor.lock.pid"] == str(os.getpid())  # still ours
    assert live.lock_holder() == {}
    assert live.containers() == containers


class RefusesFailedRecords(Runner):
    """The real runner, except that the engine refuses the ledger volume of a failed release
    (a write that fails while a deploy is going wrong)."""

    def run(self, argv: Sequence[str | os.PathLike[str]], **kwargs: Any) -> Completed:
        text = [os.fspath(a) for a in argv]
        if "volume" in text and "create" in text and '"outcome":"failed"' in " ".join(text):
            raise ToolFailedError("docker: exited 1: docker volume create", hint="disk full")
        return super().run(argv, **kwargs)


def test_a_ledger_write_that_fails_does_not_stop_the_rollback(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    before = live.serving_release()
    resolved = resolve_target(load_project(live.root), "staging", BAD)
    runner = RefusesFailedRecords()
    compose = Compose(resolved.compose, runner=runner, new_session=True)
    result = Deployer(resolved, root=str(live.root), compose=compose).deploy()
    assert not result.ok
    assert result.restored is not None
    assert not result.rollback_error
    assert live.serving_release() == before
    assert "could not be recorded in the ledger; rolling back all the same" in (
        capsys.readouterr().err
    )
