"""Image names for compose services that only have a `build:` section.

Compose names such an image itself, differently by version (`<project>_<service>` in v1,
`<project>-<service>` in v2), always with the `latest` tag, so a deploy could never pick
a tag. Conveyor names it `<project>-<service>` (the deploy's base project name, the same
for every environment) and layers a small generated compose file over the project's that
sets `image: <project>-<service>:${TAG_VARIABLE:-latest}`: Compose v1 and v2 then run
exactly the image `inv build` tagged, and `inv deploy --tag T` switches it like any other.
The overlay holds image names only, never a value from an env file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from conveyor.validate import validate_repository

_NOT_IN_NAME = re.compile(r"[^a-z0-9]+")


def service_repository(project: str, service: str) -> str:
    """`<project>-<service>`, lowercased into Docker's name grammar."""
    slug = _NOT_IN_NAME.sub("-", service.lower()).strip("-") or "service"
    return validate_repository(f"{project}-{slug}")


def build_only_services(files: Sequence[Path]) -> list[str]:
    """Services some compose file gives a `build:` section and none an `image:`.

    Read from the files as written (no interpolation needed to see which keys exist); a file
    that is missing or unreadable is left to `compose config` to report.
    """
    builds: set[str] = set()
    images: set[str] = set()
    for path in files:
        for name, body in _services(path).items():
            if "build" in body:
                builds.add(name)
            if "image" in body:
                images.add(name)
    return sorted(builds - images)


def _services(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return {}
    return {str(k): v for k, v in services.items() if isinstance(v, dict)}


def image_overlay(services: Sequence[str], project: str, tag_variable: str) -> str:
    """The compose file that names each build-only service's image."""
    body = {
        "services": {
            name: {"image": f"{service_repository(project, name)}:${{{tag_variable}:-latest}}"}
            for name in services
        }
    }
    header = "# Written by Conveyor: the images `inv build` tags for build-only services.\n"
    return header + yaml.safe_dump(body, sort_keys=True)


def write_image_overlay(
    files: Sequence[Path], project: str, tag_variable: str, path: Path
) -> Path | None:
    """Write the overlay for `files` at `path` (only when it changes); None when no service
    needs one."""
    services = build_only_services(files)
    if not services:
        return None
    text = image_overlay(services, project, tag_variable)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path
