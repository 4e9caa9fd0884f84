"""Pure helpers behind `inv build` / `inv docker.base-image` (real runs: tests/integration)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from conveyor.ci import plain_output
from conveyor.errors import InvalidInputError
from conveyor.tasks.build import ca_directory, progress
from conveyor.tools.debootstrap import Debootstrap, RootfsRequest, copy_certificates


def project_at(tmp_path: Path, conveyor: str = "", version: str = 'version = "2.0.0"\n') -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\n{version}\n{conveyor}', encoding="utf-8"
    )
    return tmp_path


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


def test_progress_plain_lines_one_per_phase_then_counts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    packages = [f"pkg{i}" for i in range(150)]
    lines = ["I: Retrieving InRelease", "I: Checking Release signature"]
    for name in packages:  # debootstrap interleaves the two phases, package by package
        lines += [f"I: Retrieving {name} 1.0", f"I: Validating {name} 1.0"]
    lines.append("W: Failure trying to run: chroot")
    lines += [f"I: Extracting {name}..." for name in packages]
    lines += [f"I: Unpacking {name}..." for name in packages]
    lines.append("I: Base system installed successfully.")
    with progress("debootstrap") as on_line:
        for line in lines:
            on_line(line)
    printed = capsys.readouterr().out.splitlines()
    assert len(lines) > 600
    assert printed == [
        "debootstrap",
        "  I: Retrieving InRelease",
        "  I: Checking Release signature",
        "  I: Validating pkg0 1.0",
        "  W: Failure trying to run: chroot",
        "  I: Extracting pkg0...",
        "  I: Unpacking pkg0...",
        "  I: Base system installed successfully.",
        "  lines per phase: Retrieving: 151, Validating: 150, Extracting: 150, Unpacking: 150",
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
