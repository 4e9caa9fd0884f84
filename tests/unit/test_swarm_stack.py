"""The stack file a swarm deploy hands to `docker stack deploy`, from real `compose config`
output of the demo (Compose v1 for staging, v2 for production); `docker stack deploy` reads
such files for real in tests/integration/test_swarm_deploy.py."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from conveyor.config import SwarmSettings
from conveyor.deploy.swarm_stack import StackDocument, stack_document
from conveyor.errors import ConfigError
from tests.unit.test_swarm_adapter import recorded

IMAGES = {"app": "conveyor-demo-it:good", "store": "conveyor/base:bookworm"}
IDS = {"app": "sha256:aaa", "store": "sha256:bbb"}
FINGERPRINTS = {"app": "f-app", "store": "f-store"}


def document(name: str, settings: SwarmSettings | None = None, **edits: Any) -> StackDocument:
    rendered = yaml.safe_load(recorded(name))
    for service, body in edits.items():
        rendered["services"][service].update(body)
    return stack_document(
        rendered,
        stack="shop",
        images=IMAGES,
        fingerprints=FINGERPRINTS,
        image_ids=IDS,
        settings=settings or SwarmSettings(),
    )


def test_v1_staging_becomes_a_3x_stack_with_conveyors_rolling_update() -> None:
    stack = document("compose-config-v1-staging.yaml")
    doc = stack.document
    assert doc["version"] == "3.9"
    app = doc["services"]["app"]
    assert app["image"] == "conveyor-demo-it:good"
    assert app["depends_on"] == ["store"]
    assert app["ports"] == [
        {"target": 8000, "published": 18555, "protocol": "tcp", "mode": "ingress"}
    ]
    assert app["labels"] == {
        "io.conveyor.fingerprint": "f-app",
        "io.conveyor.image-id": "sha256:aaa",
    }
    deploy = app["deploy"]
    assert deploy["labels"] == {"io.conveyor.fingerprint": "f-app"}
    assert deploy["endpoint_mode"] == "vip"
    assert deploy["update_config"] == {
        "parallelism": 1,
        "order": "start-first",
        "failure_action": "rollback",
        "monitor": "10s",
    }
    assert deploy["rollback_config"] == {"parallelism": 1, "order": "start-first", "monitor": "10s"}
    assert stack.orders == {"app": "start-first", "store": "start-first"}
    assert app["environment"]["LOG_LEVEL"] == "info"  # env files were rendered by Compose
    assert "build" not in app


def test_what_swarm_does_differently_is_said() -> None:
    notes = document("compose-config-v1-staging.yaml").notes
    assert (
        "service app waits for store (service_healthy) under Compose; Swarm starts services "
        "in any order (it must retry until they answer)"
    ) in notes
    assert (
        "service app publishes port 18555 on 127.0.0.1 only under Compose; a swarm publishes "
        "it on every address of its nodes"
    ) in notes


def test_a_port_on_its_node_is_updated_stop_first_and_so_is_a_volume() -> None:
    settings = SwarmSettings(publish_mode="host", endpoint_mode="dnsrr", monitor=3, parallelism=2)
    stack = document(
        "compose-config-v1-staging.yaml",
        settings,
        store={"volumes": ["data:/var/lib/redis"]},
    )
    assert stack.orders == {"app": "stop-first", "store": "stop-first"}
    app = stack.document["services"]["app"]
    assert app["ports"][0]["mode"] == "host"
    assert app["deploy"]["endpoint_mode"] == "dnsrr"
    assert app["deploy"]["update_config"]["monitor"] == "3s"
    assert app["deploy"]["rollback_config"]["order"] == "stop-first"
    assert any(
        "publishes port 18555 on its node (host mode): updated stop-first" in n for n in stack.notes
    )
    assert any("service store mounts volume data: updated stop-first" in n for n in stack.notes)


def test_the_compose_files_own_update_keys_win_key_by_key() -> None:
    own = {
        "update_config": {"order": "stop-first", "failure_action": "pause"},
        "endpoint_mode": "dnsrr",
    }
    stack = document("compose-config-v1-staging.yaml", app={"deploy": own})
    deploy = stack.document["services"]["app"]["deploy"]
    assert deploy["update_config"] == {
        "order": "stop-first",
        "failure_action": "pause",
        "parallelism": 1,
        "monitor": "10s",
    }
    assert deploy["rollback_config"]["order"] == "stop-first"
    assert deploy["endpoint_mode"] == "dnsrr"
    assert stack.orders["app"] == "stop-first"
    assert any("sets update_config.failure_action: pause" in n for n in stack.notes)


def test_v2_production_limits_become_deploy_resources_and_names_are_the_stacks() -> None:
    doc = document("compose-config-v2-production.yaml").document
    assert "name" not in doc
    app = doc["services"]["app"]
    assert "mem_limit" not in app
    assert "cpus" not in app
    assert app["deploy"]["resources"] == {"limits": {"memory": "536870912", "cpus": "1"}}
    assert doc["services"]["store"]["deploy"]["resources"] == {"limits": {"memory": "268435456"}}
    assert doc["networks"] == {"default": None}  # `shop_default` is what the stack names it
    assert app["ports"][0]["published"] == 18555  # v2 renders it as a string
    host = document("compose-config-v2-production.yaml", SwarmSettings(publish_mode="host"))
    # v2 writes `mode: ingress` for every port: that is no choice of the compose file's.
    assert host.document["services"]["app"]["ports"][0]["mode"] == "host"
    own = {"ports": [{"target": 8000, "published": 80, "mode": "host"}]}
    assert document("compose-config-v2-production.yaml", app=own).orders["app"] == "stop-first"


def test_a_key_swarm_forbids_stops_the_deploy_naming_service_and_key() -> None:
    with pytest.raises(
        ConfigError, match=r"^service app: cpu_shares is not supported by docker stack deploy"
    ):
        document("compose-config-v1-staging.yaml", app={"cpu_shares": 512})


def test_external_and_foreign_names_are_kept() -> None:
    rendered = {
        "services": {"app": {"image": "x", "secrets": ["token"]}},
        "networks": {"edge": {"external": True, "name": "edge"}, "own": {"name": "other"}},
        "secrets": {"token": {"file": "/run/token.txt", "name": "shop_token"}},
        "x-owner": "team",
    }
    doc = stack_document(
        rendered,
        stack="shop",
        images={"app": "x"},
        fingerprints={"app": "f"},
        image_ids={"app": "i"},
        settings=SwarmSettings(),
    ).document
    assert doc["networks"] == {"edge": {"external": True, "name": "edge"}, "own": {"name": "other"}}
    assert doc["secrets"] == {"token": {"file": "/run/token.txt"}}
    assert doc["x-owner"] == "team"
    assert "ports" not in doc["services"]["app"]
