"""Preflight policy: services the gate cannot see into, bind-mounted project files, smoke names."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import SmokeTest
from conveyor.deploy.preflight import (
    bind_mount_findings,
    check_smoke_services,
    healthcheck_warnings,
    project_binds,
    without_healthcheck,
)
from conveyor.errors import ConfigError, GateFailedError
from conveyor.tools.compose import BindMount, ImageFacts, ServiceSpec

ROOT = Path("/srv/app")


def test_services_without_any_healthcheck_are_named() -> None:
    specs = {
        "db": ServiceSpec("db", "db", has_healthcheck=True),
        "web": ServiceSpec("web", "web"),  # its image has one
        "worker": ServiceSpec("worker", "web", healthcheck_disabled=True),  # disabled
        "redis": ServiceSpec("redis", "base"),
    }
    facts = {
        "db": ImageFacts("sha256:d", has_healthcheck=False),
        "web": ImageFacts("sha256:w", has_healthcheck=True),
        "worker": ImageFacts("sha256:w", has_healthcheck=True),
        "redis": ImageFacts("sha256:r", has_healthcheck=False),
    }
    assert without_healthcheck(specs, facts) == ["worker", "redis"]
    (line,) = healthcheck_warnings(["redis"], 10)
    assert line.startswith("service redis has no healthcheck: it counts as healthy once it has")
    assert "run 10s without a restart" in line


def test_only_bind_mounts_of_project_files_count() -> None:
    specs = {
        "web": ServiceSpec(
            "web",
            None,
            binds=(
                BindMount("web", "/srv/app", "/code"),
                BindMount("web", "/srv/app/conf/nginx.conf", "/etc/nginx/nginx.conf"),
                BindMount("web", "/var/run/docker.sock", "/var/run/docker.sock"),
                BindMount("web", "/srv/application", "/other"),
            ),
        )
    }
    binds = project_binds(specs, ROOT)
    assert [b.target for b in binds] == ["/code", "/etc/nginx/nginx.conf"]
    first, second = bind_mount_findings(binds, ROOT, "warn")
    assert first.startswith("service web bind-mounts ./ from this host at /code: it runs the host")
    assert "an image rollback cannot roll them back" in first
    assert second.startswith("service web bind-mounts ./conf/nginx.conf from this host")
    assert bind_mount_findings([], ROOT, "refuse") == []


def test_bind_mounts_are_refused_when_configured() -> None:
    binds = [BindMount("web", "/srv/app", "/code"), BindMount("job", "/srv/app/x", "/x")]
    with pytest.raises(GateFailedError) as refused:
        bind_mount_findings(binds, ROOT, "refuse")
    assert refused.value.message == (
        "refusing to deploy: service web bind-mounts ./ from this host at /code (and 1 more)"
    )
    assert "nothing was changed" in refused.value.hint
    assert refused.value.exit_code == 1


def test_smoke_tests_name_known_services() -> None:
    specs = {"proxy": ServiceSpec("proxy", "p"), "backend": ServiceSpec("backend", "b")}
    check_smoke_services([SmokeTest(path="/", services=["backend", "proxy"])], specs)
    with pytest.raises(ConfigError, match="smoke\\] /health: unknown service 'api'"):
        check_smoke_services([SmokeTest(services=["api"])], specs)
