"""debootstrap adapter: a Debian root filesystem from packages, for images without a registry."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.errors import InvalidInputError
from conveyor.runner import DEFAULT_RUNNER, Runner
from conveyor.tools.discovery import DEBOOTSTRAP, discover
from conveyor.validate import validate_name

PACKAGE = r"[a-z0-9][a-z0-9+.-]+"
SUITE = r"[a-z][a-z0-9-]*"
MIRROR = r"(?:https?|file)://[A-Za-z0-9._~:/%+-]+"
CA_DIR = Path("usr/local/share/ca-certificates")


@dataclass(frozen=True)
class RootfsRequest:
    """What goes into the root filesystem; every value validated before debootstrap runs."""

    suite: str
    packages: tuple[str, ...]
    mirror: str | None = None
    ca_certificates: Path | None = None

    def __post_init__(self) -> None:
        validate_name("Debian suite", self.suite, SUITE, hint="e.g. bookworm")
        for package in self.packages:
            validate_name("Debian package name", package, PACKAGE, hint="e.g. python3-venv")
        if self.mirror:
            validate_name(
                "Debian mirror", self.mirror, MIRROR, hint="e.g. http://deb.debian.org/debian"
            )
        if self.ca_certificates is not None and "ca-certificates" not in self.packages:
            raise InvalidInputError(
                "extra CA certificates need the ca-certificates package in the image",
                hint="add 'ca-certificates' to [tool.conveyor.docker] base-packages",
            )


@dataclass
class Debootstrap:
    """Runs debootstrap, streaming its lines to `on_line` for progress."""

    path: str = "debootstrap"
    runner: Runner = field(default_factory=lambda: DEFAULT_RUNNER)

    @classmethod
    def discover(cls, runner: Runner = DEFAULT_RUNNER) -> Debootstrap:
        """A Debootstrap whose program is found and recent enough."""
        return cls(path=discover(DEBOOTSTRAP, None, runner).path, runner=runner)

    def argv(self, request: RootfsRequest, target: Path) -> list[str]:
        """`debootstrap --variant=minbase --include=... SUITE DIR [MIRROR]`."""
        argv = [self.path, "--variant=minbase"]
        if request.packages:
            argv.append("--include=" + ",".join(request.packages))
        argv += [request.suite, str(target)]
        if request.mirror:
            argv.append(request.mirror)
        return argv

    def create(self, request: RootfsRequest, target: Path, on_line: Callable[[str], None]) -> None:
        """Bootstrap `target`, add the CA certificates, drop apt caches."""
        self.runner.stream(self.argv(request, target), on_line, tool="debootstrap")
        if request.ca_certificates is not None:
            added = copy_certificates(request.ca_certificates, target)
            on_line(f"I: Added {len(added)} CA certificate(s) from {request.ca_certificates}")
            self.runner.run(["chroot", str(target), "update-ca-certificates"], tool="chroot")
        self.runner.run(["chroot", str(target), "apt-get", "clean"], tool="chroot")
        shutil.rmtree(target / "var/lib/apt/lists", ignore_errors=True)


def copy_certificates(source: Path, rootfs: Path) -> list[Path]:
    """Copy `source/*.crt` into the rootfs's local CA directory."""
    if not source.is_dir():
        raise InvalidInputError(
            f"CA certificates directory {source} does not exist",
            hint="fix [tool.conveyor.docker] extra-ca-certificates or --ca-certificates",
        )
    destination = rootfs / CA_DIR
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for cert in sorted(source.glob("*.crt")):
        shutil.copy2(cert, destination / cert.name)
        copied.append(destination / cert.name)
    return copied
