"""`inv deploy` / `rollback` / `releases` with `engine = "swarm"`, on a real single-node swarm.

One live stack (the fixture on release `good`) is shared by the module: every fault must leave
every service of the stack on the release that served before it, which each test checks.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from conveyor.deploy.lock import LockHolder
from conveyor.tasks.compose import down, up
from conveyor.tasks.deploy import deploy, releases, rollback
from conveyor.tools.compose import COMPOSE_VARIABLE
from tests.integration import _machine as machine
from tests.integration._demo import BAD, CRASH, DEMO_REPOSITORY, GOOD, GOOD2, docker, wait_for
from tests.integration._swarm import SwarmTarget, make_swarm_target

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def live(
    swarm_manager: str, demo_images: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SwarmTarget]:
    """The fixture stack deployed to `staging` on release `good`."""
    target = make_swarm_target(tmp_path_factory.mktemp("swarm-live"))
    try:
        deploy(target.context(), "staging", tag=GOOD)
        assert target.serving_release() == GOOD
        yield target
    finally:
        target.down()


def report_of(target: SwarmTarget) -> dict[str, object]:
    return dict(json.loads((target.root / "reports" / "deploy-staging.json").read_text()))


def outcomes(target: SwarmTarget) -> list[str]:
    records = sorted(target.ledger_labels(), key=lambda r: int(r["io.conveyor.ledger.release"]))
    return [json.loads(r["io.conveyor.ledger.record"])["outcome"] for r in records]


def app_images(target: SwarmTarget) -> dict[str, str]:
    images = target.images()
    return {name: images[name] for name in ("web", "worker")}


def release_images(tag: str) -> dict[str, str]:
    return {"web": f"{DEMO_REPOSITORY}:{tag}", "worker": f"{DEMO_REPOSITORY}:{tag}"}


def failed_deploy(target: SwarmTarget, tag: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(Exit) as exit_info:
        deploy(target.context(), "staging", tag=tag)
    assert exit_info.value.code == 1
    return capsys.readouterr().err


def assert_nothing_leaked(target: SwarmTarget, *texts: str) -> None:
    """No planted secret in the ledger (on the swarm), the report, or what was printed."""
    places = [json.dumps(target.ledger_labels()), *texts]
    places += [p.read_text() for p in (target.root / "reports").glob("*.json")]
    for secret in target.planted:
        assert not any(secret in place for place in places)


def test_a_good_release_updates_the_stack_and_is_recorded_on_the_swarm(
    live: SwarmTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    store = live.running_tasks("store")
    capsys.readouterr()
    deploy(live.context(), "staging", tag=GOOD2)
    out, err = capsys.readouterr()
    assert live.serving_release() == GOOD2
    assert app_images(live) == {
        "web": f"{DEMO_REPOSITORY}:{GOOD2}",
        "worker": f"{DEMO_REPOSITORY}:{GOOD2}",
    }
    assert live.running_tasks("store") == store  # unchanged: its task was not replaced
    assert "plan (swarm): web (new image), worker (new image); unchanged: store" in err
    assert "web.1@" in err  # progress per service and task
    assert "worker.1@" in err
    orders = {
        name: d["Spec"]["UpdateConfig"]["Order"]  # type: ignore[index]
        for name, d in live.services().items()
    }
    assert orders == {"web": "stop-first", "worker": "start-first", "store": "stop-first"}
    web = live.services()["web"]["Spec"]
    assert web["UpdateConfig"]["FailureAction"] == "rollback"  # type: ignore[index]
    assert web["UpdateConfig"]["Monitor"] == 2_000_000_000  # type: ignore[index]
    report = report_of(live)
    assert report["ok"] is True
    assert outcomes(live)[-1] == "deployed"
    assert "publishes port" in err  # the preflight said why it is stop-first
    assert "updated stop-first" in err
    capsys.readouterr()
    releases(live.context(), "staging")
    table = capsys.readouterr().out
    assert "(live)" in table
    assert f"web={DEMO_REPOSITORY}:{GOOD2}" in table
    assert_nothing_leaked(live, out, err, table)


def test_a_release_swarm_rolls_back_by_itself_fails_and_every_service_is_restored(
    live: SwarmTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    before, images = live.serving_release(), app_images(live)
    err = failed_deploy(live, BAD, capsys)
    assert "web was rolled back by Swarm" in err  # `docker stack deploy` itself exited 0
    assert "APP_FORCE_UNHEALTHY=1" in err  # the failed task's probe output
    assert "rolled back to release" in err
    assert live.serving_release() == before
    assert app_images(live) == images  # the worker, which Swarm left on `bad`, too
    assert outcomes(live)[-1] == "failed"
    report = report_of(live)
    assert report["ok"] is False
    assert report["restored_healthy"] is True
    assert_nothing_leaked(live, err)


def test_a_failed_smoke_test_restores_every_service_of_the_stack(
    live: SwarmTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    before, images = live.serving_release(), app_images(live)
    tag = GOOD if before == GOOD2 else GOOD2
    pyproject = live.root / "pyproject.toml"
    config = pyproject.read_text()
    pyproject.write_text(config.replace('{ path = "/", status = 200', '{ path = "/", status = 204'))
    try:
        err = failed_deploy(live, tag, capsys)
    finally:
        pyproject.write_text(config)
    assert f"smoke test failed: GET http://127.0.0.1:{live.port}/ -> 200 (expected 204" in err
    assert live.serving_release() == before
    assert app_images(live) == images  # web and worker had both been updated


def test_rollback_to_an_older_release(
    live: SwarmTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(live.context(), "staging", tag=GOOD2)
    records = [json.loads(r["io.conveyor.ledger.record"]) for r in live.ledger_labels()]
    good = max(
        r["id"]
        for r in records
        if r["outcome"] == "deployed" and r["services"]["web"]["image"].endswith(f":{GOOD}")
    )
    rollback(live.context(), "staging", to=str(good))
    assert live.serving_release() == GOOD
    assert app_images(live) == {
        "web": f"{DEMO_REPOSITORY}:{GOOD}",
        "worker": f"{DEMO_REPOSITORY}:{GOOD}",
    }
    now = [json.loads(r["io.conveyor.ledger.record"]) for r in live.ledger_labels()]
    last = max(now, key=lambda r: int(r["id"]))
    assert (last["outcome"], last["restored_from"]) == ("rolled-back", good)


def _plant_lock(target: SwarmTarget, holder: LockHolder) -> None:
    labels = [a for k, v in holder.labels(target.stack).items() for a in ("--label", f"{k}={v}")]
    docker(
        "service", "create", "--detach", "--quiet", "--replicas", "0", "--no-resolve-image",
        "--name", f"conveyor-lock-{target.stack}", *labels, f"{DEMO_REPOSITORY}:{GOOD}",
    )  # fmt: skip


def test_the_lock_lives_on_the_swarm_and_a_stale_one_is_taken_over(
    live: SwarmTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    before = live.serving_release()
    young = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _plant_lock(live, LockHolder(1, "ci-runner-gone", "ci", young))
    try:
        with pytest.raises(Exit) as exit_info:
            deploy(live.context(), "staging", tag=GOOD, lock_wait="0.5")
        assert exit_info.value.code == 2
        assert "held by pid 1 on ci-runner-gone" in capsys.readouterr().err
        assert live.serving_release() == before
    finally:
        docker("service", "rm", f"conveyor-lock-{live.stack}")
    _plant_lock(live, LockHolder(1, "ci-runner-gone", "ci", "2020-01-01T00:00:00+00:00"))
    deploy(live.context(), "staging", tag=GOOD)
    assert "its lease expired at 2020-01-01T00:02:00+00:00 (not renewed)" in capsys.readouterr().err
    assert live.lock() == {}  # released


@pytest.mark.parametrize(
    ("sig", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],  # SIGINT as a terminal's Ctrl-C sends it
    ids=["sigterm", "ctrl-c"],
)
def test_a_signal_while_swarm_updates_restores_every_service(
    live: SwarmTarget, sig: signal.Signals, to_group: bool
) -> None:
    before, images = live.serving_release(), app_images(live)
    child = live.invoke("deploy", "--env", "staging", "--tag", BAD, new_session=True)
    try:
        assert wait_for(lambda: live.images().get("web", "").endswith(f":{BAD}"), timeout=60)
        if to_group:
            os.killpg(child.pid, sig)
        else:
            child.send_signal(sig)
        _, err = child.communicate(timeout=240)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 1, err
    assert f"interrupted by {sig.name}" in err
    assert "rolled back to release" in err
    assert live.serving_release() == before
    assert app_images(live) == images
    assert live.lock() == {}


def test_a_missing_image_fails_before_anything_changes(
    live: SwarmTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    services = {name: d["Version"] for name, d in live.services().items()}
    with pytest.raises(Exit) as exit_info:
        deploy(live.context(), "staging", tag="never-built")
    assert exit_info.value.code == 2
    assert f"image {DEMO_REPOSITORY}:never-built of service web" in capsys.readouterr().err
    assert {name: d["Version"] for name, d in live.services().items()} == services


def test_a_failed_first_release_leaves_no_stack(
    swarm_manager: str, demo_images: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = make_swarm_target(tmp_path / "first")
    try:
        err = failed_deploy(target, CRASH, capsys)
        assert "no previous release: removing the failed one" in err
        assert "exit code 3" in err
        assert target.services() == {}
    finally:
        target.down()


def test_an_unreachable_manager_is_one_line(
    live: SwarmTarget, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(Exit) as exit_info:
        deploy(live.context(), "staging", tag=GOOD2)
    assert exit_info.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("error: docker: cannot reach")
    monkeypatch.delenv("DOCKER_HOST")
    assert live.lock() == {}


def test_compose_v2_renders_the_same_stack(
    swarm_manager: str,
    demo_images: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Compose v2 renders other shapes (`name:`, `mode: ingress` on every port, string ports)."""
    monkeypatch.setenv(COMPOSE_VARIABLE, machine.compose_v2())
    target = make_swarm_target(tmp_path / "v2")
    try:
        deploy(target.context(), "staging", tag=GOOD)
        deploy(target.context(), "staging", tag=GOOD2)
        assert target.serving_release() == GOOD2
        ports = target.services()["web"]["Endpoint"]["Ports"]  # type: ignore[index]
        assert [p["PublishMode"] for p in ports] == ["host"]
        assert_nothing_leaked(target, *capsys.readouterr())
    finally:
        target.down()


def test_up_then_down_under_the_lock_keep_the_ledger(
    swarm_manager: str, demo_images: None, tmp_path: Path
) -> None:
    target = make_swarm_target(tmp_path / "updown")
    try:
        up(target.context(), "staging", tag=GOOD)
        assert target.serving_release() == GOOD
        assert outcomes(target) == ["deployed"]
        down(target.context(), "staging")
        assert target.services() == {}
        assert outcomes(target) == ["deployed"]  # the ledger outlives the stack
        assert target.lock() == {}
    finally:
        target.down()
