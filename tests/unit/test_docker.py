"""Docker adapter: argv building and inspect parsing (real runs live in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.errors import InvalidInputError
from conveyor.tools.docker import BuildRequest, Docker, ImageInfo


def request(**overrides: object) -> BuildRequest:
    values: dict[str, object] = {
        "context": Path("/repo"),
        "dockerfile": Path("/repo/docker/Dockerfile"),
        "tags": ("acme/app:abc123", "acme/app:1.0.0"),
        "build_args": {"BASE_IMAGE": "conveyor/base:bookworm", "A": "1"},
        "labels": {"org.opencontainers.image.version": "1.0.0"},
    }
    values.update(overrides)
    return BuildRequest(**values)  # type: ignore[arg-type]


def test_classic_build_argv() -> None:
    argv = Docker(path="/usr/bin/docker").build_argv(request(), buildx=False)
    assert argv == [
        "/usr/bin/docker",
        "build",
        "--force-rm",
        "--file",
        "/repo/docker/Dockerfile",
        "--tag",
        "acme/app:abc123",
        "--tag",
        "acme/app:1.0.0",
        "--build-arg",
        "A=1",
        "--build-arg",
        "BASE_IMAGE=conveyor/base:bookworm",
        "--label",
        "org.opencontainers.image.version=1.0.0",
        "/repo",
    ]


def test_classic_build_argv_with_target_and_free_text_arg() -> None:
    """A compose arg value may hold spaces or `$(...)`: one argv element, never a shell."""
    argv = Docker(path="docker").build_argv(
        request(build_args={"NOTE": "two words $(id)"}, target="runtime", tags=("a:1",)),
        buildx=False,
    )
    assert argv[:6] == [
        "docker",
        "build",
        "--force-rm",
        "--file",
        "/repo/docker/Dockerfile",
        "--target",
    ]
    assert argv[6] == "runtime"
    assert argv[9:11] == ["--build-arg", "NOTE=two words $(id)"]


def test_buildx_argv_adds_platforms_only_with_buildx() -> None:
    docker = Docker(path="docker")
    with_platforms = request(platforms=("linux/amd64", "linux/arm64"))
    argv = docker.build_argv(with_platforms, buildx=True)
    assert argv[:4] == ["docker", "buildx", "build", "--load"]
    assert argv[4:6] == ["--platform", "linux/amd64,linux/arm64"]
    assert "--platform" not in docker.build_argv(with_platforms, buildx=False)
    assert "--force-rm" not in argv  # BuildKit leaves no intermediate containers


@pytest.mark.parametrize(
    "overrides",
    [
        {"tags": ("acme/app:1;id",)},
        {"tags": ("Acme/app:1",)},
        {"build_args": {"A": "line\nforged"}},
        {"build_args": {"BAD KEY": "x"}},
        {"labels": {"a": "b\rc"}},
        {"target": "-runtime"},
    ],
)
def test_build_request_validates_before_any_argv(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        request(**overrides)


def test_image_info_from_inspect() -> None:
    info = ImageInfo.from_inspect(
        {
            "Id": "sha256:abc",
            "RepoTags": ["acme/app:1"],
            "Size": 1234,
            "Created": "2026-01-01T00:00:00Z",
            "Config": {"Labels": {"a": "b"}},
        }
    )
    assert info == ImageInfo(
        id="sha256:abc",
        tags=("acme/app:1",),
        size=1234,
        labels={"a": "b"},
        created="2026-01-01T00:00:00Z",
    )
    bare = ImageInfo.from_inspect({"Id": "sha256:def", "Config": None})
    assert (bare.tags, bare.size, dict(bare.labels)) == ((), 0, {})
