"""A release made ready to apply: its compose files rendered, images resolved, fingerprints.

Today's release comes from the configured compose files; a recorded one from copies of the
files it was deployed with, written to private scratch space and rendered in the project
directory of this checkout (so build contexts, secret files, env files and bind mounts
resolve here, wherever the checkout is), with today's env files and the tag it had. Either
way a small overlay runs each service on the image it must run (a recorded image is pinned
by ID when its tag has moved since) and labels it with its fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conveyor.deploy.ledger import ComposeFile, Release, ReleaseSource, ServiceImage
from conveyor.deploy.plan import overlay, service_fingerprint
from conveyor.deploy.scratch import Scratch, safe_relative
from conveyor.deploy.secrets import config_secrets, env_file_secrets, environ_secrets
from conveyor.errors import ConfigError
from conveyor.tools.compose import Compose, ComposeConfig, ImageFacts, load_config

OVERLAY_NAME = "conveyor-release.json"


@dataclass(frozen=True)
class PreparedRelease:
    """Everything needed to apply (or check) a release; `compose` includes the overlay."""

    compose: Compose
    config: ComposeConfig
    images: Mapping[str, str]
    facts: Mapping[str, ImageFacts]
    fingerprints: Mapping[str, str]
    source: ReleaseSource
    restoring: Release | None = None
    scratch: Scratch | None = None
    label: str = "current"

    @property
    def image_ids(self) -> dict[str, str]:
        return {name: facts.id for name, facts in self.facts.items()}

    def with_overlay(self, name: str, body: Mapping[str, Any]) -> Compose:
        """The release's Compose with one more overlay on top (e.g. a strategy's labels),
        written private beside the release's own overlay."""
        if self.scratch is None:
            raise RuntimeError("PreparedRelease.with_overlay needs the run's scratch space")
        path = self.scratch.write(f"{self.label}/{name}", json.dumps(body, indent=2) + "\n")
        return self.compose.on(self.compose.target.with_files(path))


def relative_name(path: Path, root: Path) -> str:
    """`path` relative to the project root (as written in the ledger), else as given."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def env_file_names(texts: list[str]) -> list[str]:
    """The `env_file:` entries of compose files as written (names, not contents)."""
    names: list[str] = []
    for text in texts:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError:
            continue  # `compose config` names the error
        for body in ((data if isinstance(data, dict) else {}).get("services") or {}).values():
            entries = (body or {}).get("env_file") or []
            for entry in [entries] if isinstance(entries, (str, dict)) else entries:
                name = entry.get("path") if isinstance(entry, dict) else entry
                if name and str(name) not in names:
                    names.append(str(name))
    return names


def current_source(compose: Compose, root: Path) -> ReleaseSource:
    """Today's release: the configured compose files as written, env file names, the tag."""
    target = compose.target
    files = tuple(
        ComposeFile(path=relative_name(p, root), text=p.read_text(encoding="utf-8"))
        for p in target.files
        if p.is_file()
    )
    env_files = [relative_name(target.env_file, root)] if target.env_file else []
    env_files += env_file_names([f.text for f in files])
    return ReleaseSource(files, tuple(env_files), dict(target.variables))


def pinned(compose: Compose, services: Mapping[str, ServiceImage]) -> dict[str, str]:
    """Service -> the reference to run: the recorded one if it still names the same image."""
    pins: dict[str, str] = {}
    for name, recorded in services.items():
        current = compose.image_id(recorded.image) if recorded.image else None
        pins[name] = recorded.image if current == recorded.image_id else recorded.image_id
    return pins


class Preparer:
    """Renders releases of one target into PreparedRelease objects."""

    def __init__(self, compose: Compose, root: Path) -> None:
        self.compose = compose
        self.root = root

    def today(self, scratch: Scratch, label: str = "current") -> PreparedRelease:
        """The release the configured compose files describe."""
        base = self.compose.target
        directed = self.compose.on(
            base.with_base(base.files, base.variables) if base.project_directory is None else base
        )
        source = current_source(self.compose, self.root)
        return self._prepare(directed, source, scratch, label=label)

    def recorded(self, release: Release, scratch: Scratch) -> PreparedRelease:
        """A recorded release, as it ran: its compose files (or today's, for a release
        observed before Conveyor recorded any) with its images pinned."""
        label = f"release-{release.id}"
        source = ReleaseSource.of(release)
        if not release.compose_files:
            source = current_source(self.compose, self.root)
            target = self.compose.target
            directed = target.with_base(target.files, target.variables)
        else:
            copies = [scratch.write(f"{label}/{f.path}", f.text) for f in release.compose_files]
            first = self.root.joinpath(*safe_relative(release.compose_files[0].path).parts)
            directed = self.compose.target.with_base(copies, release.variables, first.parent)
        pins = pinned(self.compose, release.services)
        return self._prepare(
            self.compose.on(directed), source, scratch, label=label, pins=pins, restoring=release
        )

    def _prepare(
        self,
        compose: Compose,
        source: ReleaseSource,
        scratch: Scratch,
        *,
        label: str,
        pins: Mapping[str, str] | None = None,
        restoring: Release | None = None,
    ) -> PreparedRelease:
        config = load_config(compose.render())
        compose.ping()  # images and containers are on the engine: say so if it is unreachable
        runner = compose.runner
        runner.secrets.update(config_secrets(config.document))
        variables = compose.target.env_file or compose.target.directory / ".env"
        runner.secrets.update(env_file_secrets(variables))
        runner.secrets.update(environ_secrets([f.text for f in source.compose_files]))
        images = {
            name: (pins or {}).get(name) or spec.image or compose.default_image(name)
            for name, spec in config.services.items()
        }
        facts = self._facts(compose, images, restoring)
        fingerprints = {
            name: service_fingerprint(config.document, name, facts[name].identity, str(self.root))
            for name in config.services
        }
        body: dict[str, Any] = overlay(images, fingerprints)
        path = scratch.write(f"{label}/{OVERLAY_NAME}", json.dumps(body, indent=2) + "\n")
        return PreparedRelease(
            compose=compose.on(compose.target.with_files(path)),
            config=config,
            images=images,
            facts=facts,
            fingerprints=fingerprints,
            source=source,
            restoring=restoring,
            scratch=scratch,
            label=label,
        )

    def _facts(
        self, compose: Compose, images: Mapping[str, str], restoring: Release | None
    ) -> dict[str, ImageFacts]:
        facts: dict[str, ImageFacts] = {}
        missing: list[str] = []
        for name, reference in images.items():
            found = compose.image_facts(reference)
            if found is None:
                missing.append(f"image {reference} of service {name}")
            else:
                facts[name] = found
        if missing:
            what = f"release {restoring.id}" if restoring else "this release"
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise ConfigError(
                f"{missing[0]} is not on the Docker engine{more}",
                hint=f"build it first (inv build), or check --tag; {what} needs: "
                + ", ".join(missing),
            )
        return facts
