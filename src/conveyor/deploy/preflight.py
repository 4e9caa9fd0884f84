"""Checks before a deploy changes anything: what it cannot gate, what it cannot roll back.

Policy only: it reads typed services and settings and returns messages or raises; it runs
no program. A service without a healthcheck is gated by the stability window only, so the
preflight names each one. A service that bind-mounts files of the project runs the host's
files whatever its image, so no image rollback can undo a change to them: a warning, or a
refusal when `bind-mounts = "refuse"`. Host ports something else holds are named before
`compose up` could leave a half-started project.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.config import SmokeTest
from conveyor.errors import ConfigError, GateFailedError
from conveyor.tools.compose import BindMount, ContainerState, ImageFacts, ServiceSpec


def without_healthcheck(
    specs: Mapping[str, ServiceSpec], facts: Mapping[str, ImageFacts]
) -> list[str]:
    """Services with no healthcheck in compose nor in their image (or one disabled)."""
    missing: list[str] = []
    for name, spec in specs.items():
        image_has = name in facts and facts[name].has_healthcheck
        if not spec.has_healthcheck and (spec.healthcheck_disabled or not image_has):
            missing.append(name)
    return missing


def healthcheck_warnings(names: Sequence[str], window: float) -> list[str]:
    """One warning per service the health gate can only watch for restarts."""
    return [
        f"service {name} has no healthcheck: it counts as healthy once it has run "
        f"{window:g}s without a restart (add a healthcheck for a real gate)"
        for name in names
    ]


def project_binds(specs: Mapping[str, ServiceSpec], root: Path) -> list[BindMount]:
    """Bind mounts whose host path lies inside the project (its code or config files)."""
    found: list[BindMount] = []
    for spec in specs.values():
        for bind in spec.binds:
            source = Path(bind.source)
            if source.is_absolute() and (source == root or root in source.parents):
                found.append(bind)
    return found


def describe_bind(bind: BindMount, root: Path) -> str:
    relative = Path(bind.source).relative_to(root).as_posix()
    shown = "./" if relative == "." else f"./{relative}"
    return f"service {bind.service} bind-mounts {shown} from this host at {bind.target}"


def bind_mount_findings(binds: Sequence[BindMount], root: Path, policy: str) -> list[str]:
    """Warnings for project files a service runs from the host; GateFailedError to refuse."""
    lines = [describe_bind(b, root) for b in binds]
    if binds and policy == "refuse":
        raise GateFailedError(
            f"refusing to deploy: {lines[0]}"
            + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""),
            hint="bind-mounted project files run whatever is checked out on the host, so an "
            "image rollback cannot roll them back; bake them into the image, or set "
            'bind-mounts = "warn"; nothing was changed',
        )
    return [
        f"{line}: it runs the host's files whatever the image, and an image rollback "
        "cannot roll them back"
        for line in lines
    ]


def check_smoke_services(tests: Sequence[SmokeTest], specs: Mapping[str, ServiceSpec]) -> None:
    """Every service a smoke test names must be a service of the release."""
    for test in tests:
        unknown = [s for s in test.services if s not in specs]
        if unknown:
            raise ConfigError(
                f"[tool.conveyor.deploy.smoke] {test.path}: unknown service {unknown[0]!r}",
                hint="services: " + ", ".join(sorted(specs)),
            )


def busy_ports(specs: Mapping[str, ServiceSpec], own: Sequence[ContainerState]) -> list[str]:
    """`port 8080 (service app)` for each published port something else already holds."""
    held_by_us = {p for c in own for p in c.host_ports}
    busy: list[str] = []
    for spec in specs.values():
        for port in spec.ports:
            if port.published in held_by_us or port.protocol != "tcp":
                continue
            family = socket.AF_INET6 if ":" in port.host_ip else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                try:
                    # A bind probe for a free port, closed at once (bandit B104).
                    probe.bind((port.host_ip or "0.0.0.0", port.published))  # noqa: S104  # nosec B104
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        busy.append(f"port {port.published} (service {spec.name})")
    return busy
