"""Blue-green deploys of the demo through its real HAProxy, under a constant request loop.

One live target (the repository's docker/ layout, on release `good`) is shared by the
module. Every test runs its step while `Traffic` sends requests to the public port and
counts them: no request may fail, and a release that fails its gate may answer none. The
assertions are on counts and states, never on timings.
"""

from __future__ import annotations

import json
import queue
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from conveyor.config import load_project
from conveyor.deploy.ledger import Ledger
from conveyor.deploy.lock import DeployLock, LockHeldError
from conveyor.deploy.orchestrate import Deployer
from conveyor.deploy.target import resolve_target
from conveyor.tasks.compose import up
from conveyor.tasks.deploy import deploy, releases, rollback
from conveyor.tools.compose import COMPOSE_VARIABLE, Compose
from tests.integration import _machine as machine
from tests.integration._demo import (
    BAD,
    BASE_IMAGE,
    GOOD,
    GOOD2,
    DemoTarget,
    docker,
    make_target,
)
from tests.integration._traffic import Traffic

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def live(demo_images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTarget]:
    """The demo, blue-green, deployed to `staging` on release `good`."""
    target = make_target(
        tmp_path_factory.mktemp("bluegreen"), smoke=("/health", "/"), strategy="blue-green"
    )
    try:
        deploy(target.context(), "staging", tag=GOOD)
        assert target.serving_release() == GOOD
        yield target
    finally:
        target.down()


def ledger_of(target: DemoTarget) -> Ledger:
    resolved = resolve_target(load_project(target.root), "staging")
    return Ledger(Compose(resolved.compose), env="staging", project=resolved.compose.project)


def services(target: DemoTarget) -> dict[str, list[str]]:
    """Service -> IDs of its containers (all of them, running or not)."""
    ids = docker(
        "ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={target.project}"
    ).stdout.split()
    found: dict[str, list[str]] = {}
    for item in json.loads(docker("inspect", *ids).stdout) if ids else []:
        found.setdefault(item["Config"]["Labels"]["com.docker.compose.service"], []).append(
            item["Id"]
        )
    return found


def other_tag(target: DemoTarget) -> str:
    """A good release that is not the one serving."""
    return GOOD2 if target.serving_release() == GOOD else GOOD


def failing_deploy(target: DemoTarget, tag: str) -> int:
    with pytest.raises(Exit) as exit_info:
        deploy(target.context(), "staging", tag=tag)
    return int(exit_info.value.code or 0)


def test_a_good_deploy_switches_colours_without_dropping_a_request(live: DemoTarget) -> None:
    before = services(live)
    old, new = live.serving_release(), other_tag(live)
    with Traffic(live.port) as traffic:
        deploy(live.context(), "staging", tag=new)
    assert traffic.failed() == [], traffic.describe_failures()
    assert traffic.answered_by(old) > 0
    assert traffic.answered_by(new) > 0
    assert live.serving_release() == new
    after = services(live)
    assert after["store"] == before["store"]  # unchanged: not touched
    assert after["proxy"] == before["proxy"]  # the proxy was not recreated
    assert len(after["app"]) == 1  # the old colour drained and was removed
    assert after["app"] != before["app"]
    history = ledger_of(live).releases()
    assert history[-1].outcome == "deployed"
    assert history[-1].colours["app"] != history[-2].colours["app"]
    report = json.loads((live.root / "reports" / "deploy-staging.json").read_text())
    smoke_ports = {s["url"].split(":")[2].split("/")[0] for s in report["smoke"]}
    assert smoke_ports
    assert str(live.port) not in smoke_ports  # tested beside, not through the live port


def test_a_release_failing_its_health_gate_never_answers(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    before, containers = live.serving_release(), services(live)
    with Traffic(live.port) as traffic:
        assert failing_deploy(live, BAD) == 1
    assert traffic.failed() == [], traffic.describe_failures()
    assert traffic.answered_by(BAD) == 0
    assert traffic.releases() == {before}
    err = capsys.readouterr().err
    assert "app is unhealthy" in err
    assert "rolled back to release" in err
    assert live.serving_release() == before
    assert services(live) == containers  # the candidate is gone, nothing else was touched
    assert ledger_of(live).releases()[-1].outcome == "failed"


def test_a_healthy_release_failing_its_smoke_test_never_answers(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = live.root / "pyproject.toml"
    config = pyproject.read_text()
    pyproject.write_text(config.replace('{ path = "/", status = 200', '{ path = "/", status = 204'))
    before, candidate = live.serving_release(), other_tag(live)
    try:
        with Traffic(live.port) as traffic:
            assert failing_deploy(live, candidate) == 1
    finally:
        pyproject.write_text(config)
    assert traffic.failed() == [], traffic.describe_failures()
    assert traffic.answered_by(candidate) == 0  # it answered the smoke test only, beside
    err = capsys.readouterr().err
    assert "smoke test failed: GET http://127.0.0.1:" in err
    assert f"127.0.0.1:{live.port}/" not in err.split("smoke test failed")[1].splitlines()[0]
    assert live.serving_release() == before


def test_a_manual_rollback_is_the_same_switch_back(
    live: DemoTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    first = other_tag(live)
    deploy(live.context(), "staging", tag=first)
    second = other_tag(live)
    deploy(live.context(), "staging", tag=second)
    colour = ledger_of(live).releases()[-1].colours["app"]
    with Traffic(live.port) as traffic:
        rollback(live.context(), "staging")
    assert traffic.failed() == [], traffic.describe_failures()
    assert traffic.answered_by(first) > 0
    assert live.serving_release() == first
    last = ledger_of(live).releases()[-1]
    assert last.outcome == "rolled-back"
    assert last.colours["app"] != colour
    capsys.readouterr()
    releases(live.context(), "staging")
    table = capsys.readouterr().out
    assert "colour" in table
    assert f"app={last.colours['app']}" in table.split("(live)")[1].splitlines()[0]


class Child:
    """`inv deploy` in a child process whose stderr lines can be waited for."""

    def __init__(self, target: DemoTarget, *args: str) -> None:
        self.process = target.invoke(*args)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        while not any(text in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=timeout))
            except queue.Empty:
                pytest.fail(f"never printed {text!r}; printed: {''.join(self.seen)[-2000:]}")

    def finish(self, timeout: float = 180) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, "".join(self.seen)


def test_sigint_while_the_new_colour_is_gated_rolls_back_without_a_dropped_request(
    live: DemoTarget,
) -> None:
    before, candidate = live.serving_release(), other_tag(live)
    with Traffic(live.port) as traffic:
        child = Child(live, "deploy", "--env", "staging", "--tag", candidate)
        child.wait_for("] app: ")  # the health gate watches the candidate
        child.process.send_signal(signal.SIGINT)
        code, err = child.finish()
    assert code == 1, err
    assert "interrupted by SIGINT" in err
    assert traffic.failed() == [], traffic.describe_failures()
    assert traffic.answered_by(candidate) == 0
    assert live.serving_release() == before
    assert len(services(live)["app"]) == 1


def test_sigterm_during_the_switch_lets_it_finish_and_reports_it(live: DemoTarget) -> None:
    new = other_tag(live)
    with Traffic(live.port) as traffic:
        child = Child(live, "deploy", "--env", "staging", "--tag", new)
        child.wait_for("takes the traffic now")  # switched; draining the old colour
        child.process.send_signal(signal.SIGTERM)
        code, err = child.finish()
    assert code == 143, err
    assert "SIGTERM after release" in err
    assert "it stays live" in err
    assert traffic.failed() == [], traffic.describe_failures()
    assert live.serving_release() == new
    assert len(services(live)["app"]) == 1  # the drain and the stop were not cut short
    assert live.lock_holder() == {}


def test_a_proxy_that_fails_to_reload_keeps_serving_the_live_colour(
    live: DemoTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken file beside the proxy's configuration makes its reload fail: HAProxy keeps
    its running workers, the deploy fails before any candidate starts, nothing is lost."""
    proxy = services(live)["proxy"][0]
    broken = tmp_path / "zz-broken.cfg"
    broken.write_text("frontend broken\n    bind :not-a-port\n")
    docker("cp", str(broken), f"{proxy}:/var/lib/conveyor-proxy/zz-broken.cfg")
    # The deploy finds the proxy's configuration file gone, so it must load it again.
    docker("exec", proxy, "rm", "/var/lib/conveyor-proxy/conveyor.cfg")
    before, containers = live.serving_release(), services(live)
    try:
        with Traffic(live.port) as traffic:
            assert failing_deploy(live, other_tag(live)) == 1
    finally:
        docker("exec", proxy, "rm", "-f", "/var/lib/conveyor-proxy/zz-broken.cfg")
    err = capsys.readouterr().err
    assert "HAProxy did not reload" in err
    assert "zz-broken.cfg" in err  # the proxy's own words, from its logs
    assert traffic.failed() == [], traffic.describe_failures()
    assert traffic.releases() == {before}
    assert services(live) == containers
    # Once the proxy is fixed, the next deploy reloads it and switches.
    new = other_tag(live)
    deploy(live.context(), "staging", tag=new)
    assert live.serving_release() == new


def test_a_deploy_waiting_for_the_lock_changes_nothing(live: DemoTarget) -> None:
    resolved = resolve_target(load_project(live.root), "staging", other_tag(live))
    containers = services(live)
    lock = DeployLock(Compose(resolved.compose), resolved.compose.project, image=BASE_IMAGE)
    with lock, pytest.raises(LockHeldError):
        Deployer(resolved, root=str(live.root), lock_wait=0.2).deploy()
    assert services(live) == containers


def test_the_in_place_anchor_drops_requests_where_blue_green_does_not(
    demo_images: None, tmp_path: Path
) -> None:
    """The same good deploy, in place: the gap blue-green closes is real on this machine."""
    target = make_target(tmp_path, strategy="in-place")
    try:
        deploy(target.context(), "staging", tag=GOOD)
        with Traffic(target.port) as traffic:
            deploy(target.context(), "staging", tag=GOOD2)
        assert target.serving_release() == GOOD2
        assert traffic.failed() != []
    finally:
        target.down()


def test_compose_v2_starts_and_switches_colours_the_same_way(
    demo_images: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose v2 names containers and answers `--scale` in its own way; the switch holds."""
    monkeypatch.setenv(COMPOSE_VARIABLE, machine.compose_v2())
    target = make_target(tmp_path, strategy="blue-green")
    try:
        up(target.context(), env="staging", tag=GOOD)  # `inv up` promotes a healthy start too
        assert ledger_of(target).releases()[-1].colours == {"app": "blue"}
        with Traffic(target.port) as traffic:
            deploy(target.context(), "staging", tag=GOOD2)
            assert failing_deploy(target, BAD) == 1
        assert traffic.failed() == [], traffic.describe_failures()
        assert traffic.answered_by(BAD) == 0
        assert traffic.answered_by(GOOD) > 0
        assert target.serving_release() == GOOD2
        (app,) = services(target)["app"]
        name = docker("inspect", "-f", "{{.Name}}", app).stdout.strip()
        assert name.startswith(f"/{target.project}-app-")  # v2's naming
    finally:
        target.down()
