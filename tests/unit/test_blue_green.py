"""Blue-green policy: which colour a release takes, what serves, when the old colour is
drained, and the compose layout the strategy refuses before anything changes.

The switch itself (HAProxy, compose --scale) runs in tests/integration/test_deploy_blue_green.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import BlueGreenSettings, ProxiedService
from conveyor.deploy.ledger import ReleaseSource
from conveyor.deploy.prepare import PreparedRelease
from conveyor.deploy.strategies.blue_green import BlueGreen, drained, other_colour, routes_from
from conveyor.errors import ConfigError, ToolFailedError
from conveyor.tools.compose import Compose, ComposeTarget, load_config
from conveyor.tools.haproxy import ServerStat

LAYOUT = """services:
  app:
    image: demo:1
    expose: ["8000"]
  store:
    image: base
  proxy:
    image: demo-proxy:1
    ports:
    - 127.0.0.1:8081:8080/tcp
    - 127.0.0.1::9080/tcp
"""


def stat(backend: str, slot: str, status: str, sessions: int = 0) -> ServerStat:
    return ServerStat(backend, slot, status, sessions, 0, "")


def test_a_release_takes_the_colour_that_does_not_serve() -> None:
    assert other_colour([]) == "blue"
    assert other_colour(["blue"]) == "green"
    assert other_colour(["green"]) == "blue"
    with pytest.raises(ToolFailedError, match="both colours take traffic"):
        other_colour(["blue", "green"])


def test_routes_are_the_slots_that_take_traffic_and_the_containers_they_follow() -> None:
    stats = [
        stat("live_app", "blue", "DRAIN"),
        stat("live_app", "green", "no check"),
        stat("next_app", "blue", "no check"),  # the preview: never what serves
        stat("live_api", "blue", "MAINT (resolution)"),
    ]
    fqdns = {("live_app", "blue"): "demo_app_1", ("live_app", "green"): "demo_app_2",
             ("next_app", "blue"): "demo_app_3"}  # fmt: skip
    routes = routes_from({"app": "live_app", "api": "live_api"}, stats, fqdns)
    assert routes == {"app": {"green": "demo_app_2"}, "api": {}}


def test_the_old_colour_is_drained_when_it_holds_no_request() -> None:
    busy = [stat("live_app", "blue", "DRAIN", sessions=1), stat("live_app", "green", "UP", 3)]
    assert not drained(busy, [("live_app", "blue")])
    assert drained(busy, [])  # nothing to drain
    assert drained([stat("live_app", "blue", "DRAIN")], [("live_app", "blue")])


def release_of(tmp_path: Path, text: str) -> PreparedRelease:
    compose = Compose(
        ComposeTarget(files=(tmp_path / "compose.yaml",), project="demo"),
        command=("docker-compose",),
    )
    return PreparedRelease(
        compose=compose,
        config=load_config(text),
        images={},
        facts={},
        fingerprints={},
        source=ReleaseSource(),
    )


def strategy(tmp_path: Path, **services: ProxiedService) -> BlueGreen:
    compose = Compose(
        ComposeTarget(files=(tmp_path / "compose.yaml",), project="demo"),
        command=("docker-compose",),
    )
    return BlueGreen(compose, BlueGreenSettings(services=services))


APP = ProxiedService(port=8000)


def test_the_demo_layout_passes(tmp_path: Path) -> None:
    assert strategy(tmp_path, app=APP).preflight(release_of(tmp_path, LAYOUT)) == []


@pytest.mark.parametrize(
    ("text", "services", "message"),
    [
        (LAYOUT, {}, "names no service behind the proxy"),
        (LAYOUT.replace("  proxy:", "  edge:"), {"app": APP}, "proxy = 'proxy': the compose "
         "files define no such service"),
        (LAYOUT, {"web": APP}, "services.web is not a compose service"),
        (LAYOUT, {"proxy": APP}, "services.proxy is the proxy itself"),
        (LAYOUT.replace('expose: ["8000"]', 'ports: ["8000:8000"]'), {"app": APP},
         "services.app: the service publishes host port 8000, which its two colours cannot "
         "share"),
        (LAYOUT.replace('expose: ["8000"]', "container_name: app"), {"app": APP},
         "`container_name` allows one container only"),
        (LAYOUT.replace("    - 127.0.0.1::9080/tcp\n", ""), {"app": APP},
         "services.app.preview = 9080: the proxy service proxy does not publish port 9080"),
        (LAYOUT, {"app": ProxiedService(port=8000, listen=8000)},
         "services.app.listen = 8000: the proxy service proxy does not publish port 8000"),
    ],
)  # fmt: skip
def test_layouts_blue_green_cannot_switch_are_refused_before_anything_changes(
    tmp_path: Path, text: str, services: dict[str, ProxiedService], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        strategy(tmp_path, **services).preflight(release_of(tmp_path, text))
    assert caught.value.message.startswith("[tool.conveyor.deploy.blue-green] ")
    assert message in caught.value.message
    assert caught.value.hint
