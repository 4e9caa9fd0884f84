"""From a rendered compose configuration to the stack file `docker stack deploy` is given.

Policy only (no program runs here). The compose files are rendered by Compose itself, as for
a compose deploy (env files, interpolation, overlays); what `docker stack deploy` reads is
the compose 3.x format, so a few things are translated, and said:

- `depends_on` conditions become a plain list: Swarm starts services in any order.
- `mem_limit`, `mem_reservation` and `cpus` become `deploy.resources`; keys Swarm forbids
  (`cpu_shares`, `volumes_from`, ...) stop the deploy, naming the service and the key.
- published ports take the long form, in the configured `publish-mode` unless the compose
  file says `mode: host`; a host IP is dropped (Swarm listens on every address).
- each service runs the image the release resolved, labelled with its fingerprint and image
  ID, so a release whose image moved behind the same tag is still an update.
- `deploy.update_config` / `rollback_config` get Conveyor's rolling update where the compose
  file sets nothing: `failure_action: rollback`, the configured `monitor` and `parallelism`,
  and `start-first`, except for a service whose port is published on its node (two tasks
  cannot hold it) or that mounts a named volume (two tasks would share it): those are
  `stop-first`. The compose file's own `update_config`, `rollback_config` and
  `endpoint_mode` keys win, key by key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.config import SwarmSettings
from conveyor.deploy.plan import FINGERPRINT_LABEL
from conveyor.errors import ConfigError
from conveyor.tools.compose import ANY_ADDRESS, parse_ports

STACK_VERSION = "3.9"
IMAGE_ID_LABEL = "io.conveyor.image-id"
_DROPPED = ("build", "pull_policy")
_RESOURCES = {
    "mem_limit": ("limits", "memory"),
    "cpus": ("limits", "cpus"),
    "mem_reservation": ("reservations", "memory"),
}
_FORBIDDEN = (
    "extends",
    "volume_driver",
    "volumes_from",
    "cpu_quota",
    "cpu_shares",
    "cpuset",
    "memswap_limit",
)


@dataclass(frozen=True)
class StackDocument:
    """The stack file to deploy, how each service is updated, and what the user should know."""

    document: Mapping[str, Any]
    orders: Mapping[str, str]
    notes: tuple[str, ...] = ()


def _as_mapping(value: Any) -> dict[str, Any]:
    """Compose accepts `KEY: value` and `["KEY=value"]`; the stack file gets a mapping."""
    if isinstance(value, Mapping):
        return dict(value)
    pairs = (str(item).partition("=") for item in value or [])
    return {key: val for key, _, val in pairs}


def _named_volumes(entries: Sequence[Any]) -> list[str]:
    names = []
    for entry in entries:
        if isinstance(entry, Mapping):
            if entry.get("type", "volume") == "volume" and entry.get("source"):
                names.append(str(entry["source"]))
            continue
        source, sep, _ = str(entry).partition(":")
        if sep and not source.startswith(("/", ".", "~")):
            names.append(source)
    return names


def _ports(name: str, entries: Sequence[Any], mode: str, notes: list[str]) -> list[dict[str, Any]]:
    """Published ports in the long form; a host IP is dropped (and said)."""
    ports: list[dict[str, Any]] = []
    for entry in entries:
        # Only `mode: host` is a choice: Compose v2 writes `mode: ingress` for every port.
        asked = entry.get("mode") if isinstance(entry, Mapping) else None
        asked = asked if asked == "host" else None
        for port in parse_ports(name, [entry]):
            if port.host_ip not in ANY_ADDRESS:
                notes.append(
                    f"service {name} publishes port {port.published} on {port.host_ip} only "
                    "under Compose; a swarm publishes it on every address of its nodes"
                )
            ports.append(
                {
                    "target": port.target,
                    "published": port.published,
                    "protocol": port.protocol,
                    "mode": str(asked or mode),
                }
            )
    return ports


def _order(
    name: str, body: Mapping[str, Any], ports: Sequence[Mapping[str, Any]]
) -> tuple[str, str]:
    """(order, why) for a service whose compose file does not choose."""
    host_ports = [str(p["published"]) for p in ports if p["mode"] == "host"]
    if host_ports:
        return "stop-first", (
            f"service {name} publishes port {', '.join(host_ports)} on its node (host mode): "
            "updated stop-first, with a short gap, as two tasks on one node cannot both hold it"
        )
    volumes = _named_volumes(body.get("volumes") or [])
    if volumes:
        return "stop-first", (
            f"service {name} mounts volume {volumes[0]}: updated stop-first, so two tasks never "
            "write to it at once"
        )
    return "start-first", ""


def _update_configs(
    name: str,
    deploy: dict[str, Any],
    order: str,
    settings: SwarmSettings,
    notes: list[str],
) -> str:
    """Fill update_config and rollback_config where the compose file is silent; the order."""
    monitor = f"{settings.monitor:g}s"
    update = dict(deploy.get("update_config") or {})
    action = update.get("failure_action")
    if action not in (None, "rollback"):
        notes.append(
            f"service {name} sets update_config.failure_action: {action}; Conveyor still "
            "fails the deploy and restores every service when the update does not converge"
        )
    for key, value in (
        ("parallelism", settings.parallelism),
        ("order", order),
        ("failure_action", "rollback"),
        ("monitor", monitor),
    ):
        update.setdefault(key, value)
    rollback = dict(deploy.get("rollback_config") or {})
    for key, value in (
        ("parallelism", settings.parallelism),
        ("order", update["order"]),
        ("monitor", monitor),
    ):
        rollback.setdefault(key, value)
    deploy["update_config"] = update
    deploy["rollback_config"] = rollback
    return str(update["order"])


def _service(
    name: str,
    body: Mapping[str, Any],
    *,
    image: str,
    fingerprint: str,
    image_id: str,
    settings: SwarmSettings,
    notes: list[str],
) -> tuple[dict[str, Any], str]:
    forbidden = [key for key in _FORBIDDEN if key in body]
    if forbidden:
        raise ConfigError(
            f"service {name}: {forbidden[0]} is not supported by docker stack deploy",
            hint="remove it from the compose files of this environment (a swarm environment "
            "can use its own overlay in compose-files), or use deploy.resources",
        )
    service = {k: v for k, v in body.items() if k not in (*_DROPPED, *_RESOURCES)}
    service["image"] = image
    deploy: dict[str, Any] = dict(service.get("deploy") or {})
    for key, (kind, what) in _RESOURCES.items():
        if body.get(key) not in (None, ""):
            resources = dict(deploy.get("resources") or {})
            section = dict(resources.get(kind) or {})
            section.setdefault(what, str(body[key]))
            resources[kind] = section
            deploy["resources"] = resources
    depends = service.get("depends_on")
    if isinstance(depends, Mapping):
        waits = [
            f"{other} ({(cond or {}).get('condition')})"
            for other, cond in depends.items()
            if (cond or {}).get("condition") not in (None, "service_started")
        ]
        if waits:
            notes.append(
                f"service {name} waits for {', '.join(waits)} under Compose; Swarm starts "
                "services in any order (it must retry until they answer)"
            )
        service["depends_on"] = sorted(str(k) for k in depends)
    ports = _ports(name, service.get("ports") or [], settings.publish_mode, notes)
    if ports or "ports" in service:
        service["ports"] = ports
    labels = _as_mapping(service.get("labels"))
    labels.update({FINGERPRINT_LABEL: fingerprint, IMAGE_ID_LABEL: image_id})
    service["labels"] = labels
    deploy["labels"] = {**_as_mapping(deploy.get("labels")), FINGERPRINT_LABEL: fingerprint}
    deploy.setdefault("endpoint_mode", settings.endpoint_mode)
    order, why = _order(name, body, ports)
    asked = (deploy.get("update_config") or {}).get("order")
    if why and asked is None:
        notes.append(why)
    order = _update_configs(name, deploy, order, settings, notes)
    service["deploy"] = deploy
    return service, order


def _unnamed(project: str, entries: Any) -> dict[str, Any]:
    """Top-level networks, volumes, secrets and configs without the `name: <project>_<key>`
    Compose v2 writes (a stack names them `<stack>_<key>` itself)."""
    kept: dict[str, Any] = {}
    for key, given in (entries or {}).items():
        body = dict(given or {})
        if body.get("name") == f"{project}_{key}" and not body.get("external"):
            body.pop("name")
        kept[str(key)] = body or None
    return kept


def stack_document(
    rendered: Mapping[str, Any],
    *,
    stack: str,
    images: Mapping[str, str],
    fingerprints: Mapping[str, str],
    image_ids: Mapping[str, str],
    settings: SwarmSettings,
) -> StackDocument:
    """The stack file for one release (see the module docstring for what changes)."""
    notes: list[str] = []
    services: dict[str, Any] = {}
    orders: dict[str, str] = {}
    for name, body in (rendered.get("services") or {}).items():
        services[str(name)], orders[str(name)] = _service(
            str(name),
            body or {},
            image=images[name],
            fingerprint=fingerprints[name],
            image_id=image_ids[name],
            settings=settings,
            notes=notes,
        )
    document: dict[str, Any] = {"version": STACK_VERSION, "services": services}
    for key in ("networks", "volumes", "secrets", "configs"):
        if rendered.get(key):
            document[key] = _unnamed(stack, rendered[key])
    document.update({k: v for k, v in rendered.items() if str(k).startswith("x-")})
    return StackDocument(document=document, orders=orders, notes=tuple(notes))
