"""Compose adapter: parsing of `compose config` / `docker inspect` output and argv building."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conveyor.errors import ConfigError, ToolNotFoundError
from conveyor.runner import Completed, Runner
from conveyor.tools.compose import (
    BindMount,
    Compose,
    ComposeCommand,
    ComposeTarget,
    ImageFacts,
    PublishedPort,
    compose_version,
    image_content,
    load_config,
    parse_config,
    parse_image_facts,
    parse_inspect,
    parse_ports,
    parse_records,
    port_conflict,
    services_publishing,
)

V1_CONFIG = """services:
  app:
    image: demo:1
    ports:
    - 127.0.0.1:8080:8000/tcp
    - 9000/tcp
    healthcheck:
      test: [CMD, "true"]
  store:
    image: base
    healthcheck:
      disable: true
version: '3.9'
"""

V2_CONFIG = """name: demo
services:
  app:
    image: demo:2
    ports:
      - mode: ingress
        host_ip: 0.0.0.0
        target: 8000
        published: "8081"
        protocol: tcp
      - target: 9000
  worker:
    build: {context: .}
"""


def test_v1_short_port_syntax() -> None:
    assert parse_ports("app", ["127.0.0.1:8080:8000/tcp", "9000/tcp", "8081:80"]) == (
        PublishedPort("app", 8080, 8000, "127.0.0.1", "tcp"),
        PublishedPort("app", 8081, 80, "", "tcp"),
    )


def test_v2_long_port_syntax() -> None:
    ports = parse_ports("app", [{"target": 8000, "published": "8081-8082", "host_ip": "::1"}])
    assert ports == (PublishedPort("app", 8081, 8000, "::1", "tcp"),)


def test_config_of_both_versions() -> None:
    v1 = parse_config(V1_CONFIG)
    assert v1["app"].image == "demo:1"
    assert v1["app"].has_healthcheck
    assert not v1["store"].has_healthcheck
    assert [p.published for p in v1["app"].ports] == [8080]
    v2 = parse_config(V2_CONFIG)
    assert v2["app"].ports[0].published == 8081
    assert v2["worker"].image is None
    assert services_publishing(v2, 8081) == ["app"]
    assert services_publishing(v2, 1) == []


def test_inspect_states() -> None:
    raw = [
        {
            "Id": "abc",
            "Name": "/demo_app_1",
            "Image": "sha256:1",
            "RestartCount": 2,
            "Config": {
                "Image": "demo:1",
                "Labels": {"com.docker.compose.service": "app"},
            },
            "State": {
                "Status": "running",
                "ExitCode": 0,
                "Health": {
                    "Status": "unhealthy",
                    "Log": [{"ExitCode": 1, "Output": "503 down\n", "End": "t"}],
                },
            },
            "HostConfig": {
                "RestartPolicy": {"Name": "unless-stopped"},
                "PortBindings": {"8000/tcp": [{"HostIp": "", "HostPort": "8080"}]},
            },
            "Mounts": [
                {"Type": "bind", "Source": "/srv/app", "Destination": "/code"},
                {"Type": "volume", "Source": "/var/lib/docker/volumes/x", "Name": "x"},
            ],
        },
        {
            "Id": "def",
            "Name": "/demo_run_1",
            "Config": {
                "Labels": {
                    "com.docker.compose.service": "app",
                    "com.docker.compose.oneoff": "True",
                }
            },
            "State": {"Status": "exited", "ExitCode": 0},
            "HostConfig": {"RestartPolicy": {"Name": "no"}},
        },
    ]
    app, oneoff = parse_inspect(json.dumps(raw))
    assert (app.name, app.service, app.health, app.restart_count) == (
        "demo_app_1",
        "app",
        "unhealthy",
        2,
    )
    assert app.probes[0].output == "503 down"
    assert app.restart_policy == "unless-stopped"
    assert app.host_ports == (8080,)
    assert app.labels == {"com.docker.compose.service": "app"}
    assert app.bind_sources == ("/srv/app",)
    assert oneoff.oneoff
    assert oneoff.health is None
    assert oneoff.restart_policy == ""


@pytest.mark.parametrize(
    "stderr",
    [
        "ERROR: for app  Cannot start service app: driver failed programming external "
        "connectivity on endpoint x_app_1: Bind for 0.0.0.0:8081 failed: port is already allocated",
        "Error starting userland proxy: listen tcp4 127.0.0.1:8081: bind: address already in use",
    ],
)
def test_port_conflict_messages(stderr: str) -> None:
    assert port_conflict("Creating x_app_1 ...\n" + stderr) == 8081


def test_no_port_conflict() -> None:
    assert port_conflict("ERROR: manifest unknown") is None


def test_argv_with_files_project_env_file_and_context(tmp_path: Path) -> None:
    target = ComposeTarget(
        files=(tmp_path / "a.yaml", tmp_path / "b.yaml"),
        project="demo-staging",
        env_file=tmp_path / "s.env",
        context="remote",
    )
    v1 = Compose(target, command=("docker-compose",))
    assert v1.compose_argv("up", "-d") == [
        "docker-compose", "--context", "remote",
        "-f", str(tmp_path / "a.yaml"), "-f", str(tmp_path / "b.yaml"),
        "-p", "demo-staging", "--env-file", str(tmp_path / "s.env"), "up", "-d",
    ]  # fmt: skip
    v2 = Compose(target.with_files(tmp_path / "pin.yaml"), command=("docker", "compose"))
    assert v2.default_image("web") == "demo-staging-web"
    assert v1.default_image("web") == "demo-staging_web"
    copies = target.with_base([tmp_path / "copy" / "a.yaml"], {"APP_TAG": "1"}, tmp_path / "co")
    argv = Compose(copies, command=("docker-compose",)).compose_argv("config")
    assert argv[argv.index("--project-directory") + 1] == str(tmp_path / "co")
    assert copies.variables == {"APP_TAG": "1"}
    assert target.with_base(target.files, {}).directory == tmp_path
    argv = v2.compose_argv("ps")
    assert argv[:4] == ["docker", "--context", "remote", "compose"]
    assert argv.count("-f") == 3
    assert v2.is_v2
    assert not v1.is_v2
    assert v2.docker_argv("ps") == ["docker", "--context", "remote", "ps"]


def test_missing_compose_file_is_a_config_error(tmp_path: Path) -> None:
    compose = Compose(ComposeTarget(files=(tmp_path / "nope.yaml",), project="p"), command=("x",))
    with pytest.raises(ConfigError, match="compose file not found"):
        compose.config()


def test_no_compose_at_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        ToolNotFoundError, match=r"neither `docker compose` \(v2\) nor `docker-compose`"
    ):
        Compose(ComposeTarget(files=(), project="p"), runner=Runner())


def test_volume_and_container_records() -> None:
    volume = {"Name": "conveyor-release-demo-000001", "Labels": {"k": "v"}, "Driver": "local"}
    volumes = parse_records(json.dumps([volume]))
    assert volumes[0].name == volumes[0].id == "conveyor-release-demo-000001"
    assert volumes[0].labels == {"k": "v"}
    labels = {"io.conveyor.lock": "demo"}
    container = {"Id": "abc", "Name": "/conveyor-lock-demo", "Config": {"Labels": labels}}
    containers = parse_records(json.dumps([container]))
    assert (containers[0].name, containers[0].id) == ("conveyor-lock-demo", "abc")
    assert containers[0].labels == {"io.conveyor.lock": "demo"}
    assert parse_records("[]") == []


V1_MOUNTS = """services:
  web:
    build:
      context: /srv/app
    volumes:
    - /srv/app:/code:rw
    - data:/data:rw
    - /tmp
    healthcheck:
      test: [NONE]
  db:
    image: db
    healthcheck:
      disable: true
"""

V2_MOUNTS = """name: demo
services:
  web:
    build:
      context: /srv/app
    volumes:
      - type: bind
        source: /srv/app
        target: /code
        bind:
          create_host_path: true
      - type: volume
        source: data
        target: /data
"""


def test_bind_mounts_and_builds_of_both_versions() -> None:
    v1 = load_config(V1_MOUNTS)
    assert v1.services["web"].binds == (BindMount("web", "/srv/app", "/code"),)
    assert v1.services["web"].builds
    assert v1.services["web"].healthcheck_disabled
    assert v1.services["db"].healthcheck_disabled
    assert not v1.services["db"].builds
    assert v1.document["services"]["db"]["image"] == "db"
    v2 = parse_config(V2_MOUNTS)
    assert v2["web"].binds == (BindMount("web", "/srv/app", "/code"),)
    assert not v2["web"].healthcheck_disabled
    with pytest.raises(ConfigError, match="not a mapping"):
        load_config("- a list\n")


def test_inspect_gives_networks_and_the_ports_the_engine_published() -> None:
    raw = [
        {
            "Id": "p1",
            "Name": "/demo_proxy_1",
            "Config": {"Labels": {"com.docker.compose.service": "proxy"}},
            "State": {"Status": "running"},
            "NetworkSettings": {
                "Networks": {
                    "demo_default": {"IPAddress": "192.168.16.3", "GlobalIPv6Address": ""},
                    "demo_edge": {"IPAddress": "", "GlobalIPv6Address": "fd00::3"},
                },
                "Ports": {
                    "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8081"}],
                    "9080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}],
                    "8405/tcp": None,
                },
            },
        }
    ]
    (proxy,) = parse_inspect(json.dumps(raw))
    assert proxy.networks == {"demo_default": "192.168.16.3", "demo_edge": "fd00::3"}
    binding = proxy.host_binding(9080)
    assert binding is not None
    assert (binding.host_ip, binding.host_port) == ("127.0.0.1", 49153)  # ephemeral, resolved
    assert proxy.host_binding(8405) is None
    assert proxy.host_binding(8080, "udp") is None


def test_published_targets_include_ephemeral_host_ports() -> None:
    v1 = load_config(
        "services:\n  proxy:\n    image: p\n    ports:\n"
        "    - 127.0.0.1:8081:8080/tcp\n    - 127.0.0.1::9080/tcp\n    - '7000'\n"
    )
    assert v1.services["proxy"].published_targets == (8080, 9080, 7000)
    assert [p.published for p in v1.services["proxy"].ports] == [8081]  # fixed ones only
    v2 = load_config(
        "services:\n  proxy:\n    image: p\n    ports:\n"
        "    - {target: 8080, published: '8081', host_ip: 127.0.0.1}\n"
        "    - {target: 9080, host_ip: 127.0.0.1}\n"
    )
    assert v2.services["proxy"].published_targets == (8080, 9080)


def image(layers: list[str], labels: dict[str, str], healthcheck: bool = True) -> dict[str, Any]:
    return {
        "Id": "sha256:" + "".join(labels.values()),
        "RootFS": {"Type": "layers", "Layers": layers},
        "Os": "linux",
        "Architecture": "amd64",
        "Config": {
            "Cmd": ["haproxy"],
            "Labels": labels,
            "Healthcheck": {"Test": ["CMD", "true"]} if healthcheck else None,
        },
    }


def test_image_content_ignores_the_stamps_of_a_build_only() -> None:
    one = image(["sha256:a", "sha256:b"], {"org.opencontainers.image.revision": "1", "x": "y"})
    two = image(["sha256:a", "sha256:b"], {"org.opencontainers.image.revision": "2", "x": "y"})
    facts = [parse_image_facts(json.dumps([i])) for i in (one, two)]
    assert facts[0] is not None
    assert facts[1] is not None
    assert facts[0].id != facts[1].id
    assert facts[0].content == facts[1].content  # rebuilt from another commit: same content
    assert facts[0].identity == facts[0].content
    assert facts[0].has_healthcheck
    other_layer = image(["sha256:a", "sha256:c"], {"org.opencontainers.image.revision": "1"})
    other_label = image(["sha256:a", "sha256:b"], {"org.opencontainers.image.revision": "1"})
    assert image_content(other_layer) != image_content(one)
    assert image_content(other_label) != image_content(one)  # a label of its own matters
    assert parse_image_facts("[]") is None
    assert ImageFacts("sha256:1", has_healthcheck=False).identity == "sha256:1"


class Recorder(Runner):
    """Records the argv Compose builds (this test checks argument building only)."""

    def __init__(self) -> None:
        super().__init__()
        self.argvs: list[list[str]] = []

    def run(self, argv: Sequence[Any], **kwargs: Any) -> Completed:
        self.argvs.append([str(a) for a in argv])
        return Completed(tuple(self.argvs[-1]), 0, "", "")


def test_up_starts_a_second_container_beside_the_first(tmp_path: Path) -> None:
    recorder = Recorder()
    target = ComposeTarget(files=(tmp_path / "c.yaml",), project="demo")
    Compose(target, runner=recorder, command=("docker-compose",)).up(
        ["app"], no_deps=True, no_recreate=True, scale={"app": 2}
    )
    assert recorder.argvs[0][-9:] == [
        "up", "-d", "--no-build", "--remove-orphans", "--no-deps", "--no-recreate",
        "--scale", "app=2", "app",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "version", "v2"),
    [
        ("docker-compose version 1.29.2, build unknown", "1.29.2", False),
        ("Docker Compose version v2.24.7", "2.24.7", True),
        ("Docker Compose version v5.6.1\n", "5.6.1", True),
    ],
)
def test_compose_generation_comes_from_its_version_answer(
    answer: str, version: str, v2: bool
) -> None:
    assert compose_version(answer) == version
    assert ComposeCommand(("docker-compose",), version).is_v2 is v2


def fake_compose(directory: Path, name: str, answer: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(0o755)
    return path


def test_a_standalone_v2_docker_compose_is_v2_and_the_variable_picks_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_compose(tmp_path / "bin", "docker-compose", "Docker Compose version v5.6.1")
    old = fake_compose(tmp_path / "old", "docker-compose", "docker-compose version 1.29.2, build x")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("CONVEYOR_COMPOSE", raising=False)
    target = ComposeTarget(files=(), project="p")
    found = Compose(target, runner=Runner())
    assert (found.command, found.is_v2) == (("docker-compose",), True)
    assert found.default_image("web") == "p-web"
    monkeypatch.setenv("CONVEYOR_COMPOSE", str(old))
    chosen = Compose(target, runner=Runner())
    assert (chosen.command, chosen.is_v2) == ((str(old),), False)
    assert chosen.on(target).is_v2 is False
    monkeypatch.setenv("CONVEYOR_COMPOSE", str(tmp_path / "missing"))
    with pytest.raises(ToolNotFoundError, match=r"CONVEYOR_COMPOSE=.*does not answer"):
        Compose(target, runner=Runner())
