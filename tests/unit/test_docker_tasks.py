"""Pure helpers behind `inv build` / `inv docker.base-image` (real runs: tests/integration)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rich.console import Console

from conveyor.ci import plain_output
from conveyor.config import load_project
from conveyor.errors import ConfigError, InvalidInputError
from conveyor.tasks.build import (
    Revision,
    build_args_for,
    ca_directory,
    image_tags,
    oci_labels,
    progress,
    project_version,
    public_url,
)
from conveyor.tools.debootstrap import Debootstrap, RootfsRequest, copy_certificates


def project_at(tmp_path: Path, conveyor: str = "", version: str = 'version = "2.0.0"\n') -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\n{version}\n{conveyor}', encoding="utf-8"
    )
    return tmp_path


def test_image_tags(tmp_path: Path) -> None:
    project = load_project(project_at(tmp_path, '[tool.conveyor.docker]\nimage = "acme/app"\n'))
    assert image_tags(project, Revision("abc123", None), "2.0.0") == [
        "acme/app:abc123",
        "acme/app:2.0.0",
    ]
    assert image_tags(project, Revision(None, None), "2.0.0") == ["acme/app:2.0.0"]


def test_image_tags_latest_only_when_configured(tmp_path: Path) -> None:
    project = load_project(
        project_at(tmp_path, '[tool.conveyor.docker]\nimage = "app"\ntag-latest = true\n')
    )
    assert image_tags(project, Revision("abc", None), None) == ["app:abc", "app:latest"]


def test_image_tags_need_a_sha_or_version(tmp_path: Path) -> None:
    project = load_project(project_at(tmp_path, version=""))
    assert project_version(project.root) is None
    with pytest.raises(ConfigError, match="no tag for app"):
        image_tags(project, Revision(None, None), None)


def test_image_tags_reject_bad_version(tmp_path: Path) -> None:
    project = load_project(project_at(tmp_path))
    with pytest.raises(InvalidInputError, match="invalid image tag"):
        image_tags(project, Revision(None, None), "1.0+local build")


def test_oci_labels() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert oci_labels(Revision("abc", "https://x/y.git"), "1.0", created) == {
        "org.opencontainers.image.created": "2026-01-02T03:04:05Z",
        "org.opencontainers.image.revision": "abc",
        "org.opencontainers.image.source": "https://x/y.git",
        "org.opencontainers.image.version": "1.0",
    }
    assert list(oci_labels(Revision(None, None), None, created)) == [
        "org.opencontainers.image.created"
    ]


def test_build_args_order_and_validation(tmp_path: Path) -> None:
    project = load_project(
        project_at(
            tmp_path,
            '[tool.conveyor.docker]\nbase-image = "base:1"\nbuild-args = { A = "1", B = "2" }\n',
        )
    )
    assert build_args_for(project, ["B=3"]) == {"BASE_IMAGE": "base:1", "A": "1", "B": "3"}
    bad = load_project(project_at(tmp_path, '[tool.conveyor.docker]\nbuild-args = { A = "x;y" }\n'))
    with pytest.raises(InvalidInputError, match="contains a ';'"):
        build_args_for(bad, [])


def test_ca_directory() -> None:
    assert ca_directory(None, "/etc/certs") == Path("/etc/certs")
    assert ca_directory("/opt/ca", "/etc/certs") == Path("/opt/ca")
    assert ca_directory("none", "/etc/certs") is None
    assert ca_directory(None, None) is None


def test_plain_output_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert plain_output()
    monkeypatch.setenv("CI", "false")
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert plain_output()  # not a terminal


def test_progress_plain_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    with progress("debootstrap") as on_line:
        for line in (
            "I: Retrieving base-files",
            "I: Retrieving bash",
            "W: Failure trying to run: chroot",
            "I: Validating base-files",
            "I: Validating bash",
            "I: Base system installed successfully.",
        ):
            on_line(line)
    assert capsys.readouterr().out.splitlines() == [
        "debootstrap",
        "  I: Retrieving base-files",
        "  W: Failure trying to run: chroot",
        "  I: Validating base-files",
        "  I: Base system installed successfully.",
    ]


def test_progress_live_in_a_terminal() -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    with progress("importing", terminal) as on_line:
        on_line("sha256:abc")
    assert "importing" in screen.getvalue()


def test_rootfs_request_validation(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="invalid Debian package name"):
        RootfsRequest(suite="bookworm", packages=("python3;rm",))
    with pytest.raises(InvalidInputError, match="invalid Debian suite"):
        RootfsRequest(suite="Bookworm!", packages=())
    with pytest.raises(InvalidInputError, match="invalid Debian mirror"):
        RootfsRequest(suite="bookworm", packages=(), mirror="ftp://x y")
    with pytest.raises(InvalidInputError, match="need the ca-certificates package"):
        RootfsRequest(suite="bookworm", packages=("python3",), ca_certificates=tmp_path)


def test_debootstrap_argv() -> None:
    request = RootfsRequest(
        suite="bookworm",
        packages=("python3", "ca-certificates"),
        mirror="http://deb.debian.org/debian",
    )
    assert Debootstrap(path="/usr/sbin/debootstrap").argv(request, Path("/tmp/r")) == [
        "/usr/sbin/debootstrap",
        "--variant=minbase",
        "--include=python3,ca-certificates",
        "bookworm",
        "/tmp/r",
        "http://deb.debian.org/debian",
    ]
    bare = RootfsRequest(suite="bookworm", packages=())
    assert Debootstrap().argv(bare, Path("/r")) == [
        "debootstrap",
        "--variant=minbase",
        "bookworm",
        "/r",
    ]


def test_copy_certificates(tmp_path: Path) -> None:
    source = tmp_path / "ca"
    source.mkdir()
    (source / "corp.crt").write_text("PEM", encoding="utf-8")
    (source / "notes.txt").write_text("skip", encoding="utf-8")
    copied = copy_certificates(source, tmp_path / "rootfs")
    assert [p.name for p in copied] == ["corp.crt"]
    assert (tmp_path / "rootfs/usr/local/share/ca-certificates/corp.crt").read_text() == "PEM"
    with pytest.raises(InvalidInputError, match="does not exist"):
        copy_certificates(tmp_path / "absent", tmp_path / "rootfs")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok3n@git.example.com/acme/app.git", "https://git.example.com/acme/app.git"),
        ("https://git.example.com/acme/app.git", "https://git.example.com/acme/app.git"),
        ("git@github.com:acme/app.git", "git@github.com:acme/app.git"),
        ("ssh://git@host:22/acme/app.git", "ssh://host:22/acme/app.git"),
    ],
)
def test_public_url_drops_credentials(url: str, expected: str) -> None:
    assert public_url(url) == expected
