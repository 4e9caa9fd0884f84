"""What a release changes: a fingerprint per service, compared with what runs now.

Compose decides by itself whether to recreate a container, from a hash of the configuration
as it parsed it. That hash is not stable across ways of writing the same configuration
(Compose v1 renders `null` for `{}`, ints for strings, absolute paths of the checkout), so
replaying a configuration, or deploying from another checkout, recreated services that had
not changed. Conveyor therefore decides itself: a service's fingerprint is a hash of its
rendered configuration, normalised (empty values dropped, scalars as strings, the checkout's
path replaced), plus the top-level networks, volumes, secrets and configs it uses, plus what
its image runs (`ImageFacts.identity`: layers and configuration without the labels a build
stamps, so neither a pin by ID nor a rebuild of the same files from a later commit is a new
release). The fingerprint rides on the container as a label; only services whose
fingerprint differs, or whose container is not running, are handed to the strategy.

Which containers count is the strategy's call (`Strategy.serving`): the ones that take
traffic. Other containers of a service the release keeps (a colour that never went live, a
leftover of an interrupted deploy) are `leftovers`, removed before anything starts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.tools.compose import ContainerState, ServiceSpec

FINGERPRINT_LABEL = "io.conveyor.fingerprint"
COLOUR_LABEL = "io.conveyor.colour"
"""Which colour (blue, green) a container of a service behind the proxy is."""
PROJECT_PLACEHOLDER = "<project>"
# Keys of a service that do not describe the running container: the image is replaced by
# its ID, the build section made that image, our own labels come after the fingerprint.
_NOT_FINGERPRINTED = ("image", "build", "pull_policy")
_SHARED = ("networks", "volumes", "secrets", "configs")


def normalize(value: Any, root: str = "") -> Any:
    """A canonical form: empty values dropped, scalars as strings, `root` as a placeholder."""
    if isinstance(value, Mapping):
        kept = {str(k): normalize(v, root) for k, v in value.items()}
        return {k: v for k, v in sorted(kept.items()) if v not in (None, {}, [], "")}
    if isinstance(value, (list, tuple)):
        return [normalize(v, root) for v in value]
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if root:
        text = re.sub(re.escape(root) + r"(?=/|:|$)", PROJECT_PLACEHOLDER, text)
    return text


def _names(entries: Any) -> list[str]:
    """Names a service refers to: keys of a mapping, or `source`/plain entries of a list."""
    if isinstance(entries, Mapping):
        return [str(k) for k in entries]
    names: list[str] = []
    for entry in entries or []:
        if isinstance(entry, Mapping):
            if entry.get("source") and entry.get("type", "volume") == "volume":
                names.append(str(entry["source"]))
        else:
            names.append(str(entry).split(":")[0])
    return names


def service_fingerprint(
    document: Mapping[str, Any], service: str, image_id: str, root: str = ""
) -> str:
    """The fingerprint of one service of a rendered configuration, running `image_id` (an
    image's identity: its content digest, or its ID)."""
    body = dict((document.get("services") or {}).get(service) or {})
    for key in _NOT_FINGERPRINTED:
        body.pop(key, None)
    shared: dict[str, Any] = {}
    for kind in _SHARED:
        defined = document.get(kind) or {}
        used = _names(body.get(kind))
        shared[kind] = {name: defined.get(name) for name in used if name in defined}
    canonical = normalize({"service": body, "shared": shared, "image": image_id}, root)
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


@dataclass(frozen=True)
class ServiceChange:
    """One service the release touches, why, and the serving containers it replaces."""

    service: str
    why: str
    replaces: tuple[ContainerState, ...] = ()


@dataclass(frozen=True)
class ReleasePlan:
    """A release ready to apply: its services, images, fingerprints, and what changes."""

    specs: Mapping[str, ServiceSpec]
    images: Mapping[str, str]  # service -> the reference compose runs
    image_ids: Mapping[str, str]
    fingerprints: Mapping[str, str]
    changes: tuple[ServiceChange, ...] = ()
    removals: tuple[ContainerState, ...] = ()
    unchanged: tuple[str, ...] = ()
    leftovers: tuple[ContainerState, ...] = ()

    @property
    def changed(self) -> list[str]:
        return [c.service for c in self.changes]

    def summary(self) -> str:
        """One line: what changes and what is left alone."""
        parts = [f"{c.service} ({c.why})" for c in self.changes]
        parts += [f"remove {name}" for name in sorted({c.service for c in self.removals})]
        parts += [f"remove leftover {c.name}" for c in sorted(self.leftovers, key=lambda c: c.name)]
        changing = ", ".join(parts) or "nothing changes"
        kept = ", ".join(self.unchanged)
        return changing + (f"; unchanged: {kept}" if kept else "")


@dataclass(frozen=True)
class Comparison:
    """What a release changes against what runs: see `compare`."""

    changes: tuple[ServiceChange, ...]
    removals: tuple[ContainerState, ...]
    unchanged: tuple[str, ...]
    leftovers: tuple[ContainerState, ...] = ()


def compare(
    specs: Mapping[str, ServiceSpec],
    image_ids: Mapping[str, str],
    fingerprints: Mapping[str, str],
    running: Sequence[ContainerState],
    serving: Sequence[ContainerState] | None = None,
) -> Comparison:
    """Services to bring up, containers to remove, services left alone, and leftovers.

    `serving` are the containers that take traffic (default: all of `running`); a service
    is compared on those, and its other containers are leftovers when it stays unchanged,
    or replaced with the serving ones when it changes.
    """
    live_ids = {c.id for c in (running if serving is None else serving)}
    changes: list[ServiceChange] = []
    unchanged: list[str] = []
    leftovers: list[ContainerState] = []
    for service in specs:
        mine = [c for c in running if c.service == service]
        live = [c for c in mine if c.id in live_ids]
        others = [c for c in mine if c.id not in live_ids]
        why = _why_changed(live, image_ids[service], fingerprints[service])
        if why and others and not live:
            why = "not serving"
        leftovers += others
        if why:
            changes.append(ServiceChange(service, why, tuple(live)))
        else:
            unchanged.append(service)
    removals = tuple(c for c in running if c.service not in specs)
    return Comparison(tuple(changes), removals, tuple(unchanged), tuple(leftovers))


def _why_changed(containers: Sequence[ContainerState], image_id: str, fingerprint: str) -> str:
    if not containers:
        return "new"
    if any(c.labels.get(FINGERPRINT_LABEL) != fingerprint for c in containers):
        if any(c.image_id != image_id for c in containers):
            return "new image"
        return "configuration changed"
    if any(c.status != "running" for c in containers):
        return "not running"
    return ""


def overlay(plan_images: Mapping[str, str], fingerprints: Mapping[str, str]) -> dict[str, Any]:
    """The compose overlay that runs each service on its image, labelled with its fingerprint."""
    return {
        "services": {
            name: {"image": plan_images[name], "labels": {FINGERPRINT_LABEL: fingerprints[name]}}
            for name in sorted(plan_images)
        }
    }
