"""Finding tools, reading versions, checking minimums."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from conveyor.errors import ToolNotFoundError
from conveyor.tools.discovery import (
    DOCKER,
    GITLEAKS,
    TRIVY,
    ToolSpec,
    check_minimum,
    discover,
    locate,
    parse_version,
    version_cache_file,
)

SPEC = ToolSpec(
    name="demo-tool",
    version_args=("--version",),
    minimum="1.5.0",
    install="pip install demo-tool",
    config_key="[tool.conveyor.scan] demo",
)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("Version: 0.76.0\nVulnerability DB: 2.0.1", "0.76.0"),
        ("8.30.1", "8.30.1"),
        ("Docker version 28.2.2, build e6534b4", "28.2.2"),
        ("debootstrap 1.0.128+nmu2+deb12u2", "1.0.128"),
        ("v3.4", "3.4"),
        ("no digits here", None),
    ],
)
def test_parse_version(text: str, version: str | None) -> None:
    assert parse_version(text) == version


def test_check_minimum_accepts_new_enough() -> None:
    found = check_minimum(SPEC, "/bin/demo", "demo-tool 1.5.0")
    assert (found.name, found.path, found.version) == ("demo-tool", "/bin/demo", "1.5.0")


def test_check_minimum_rejects_old_with_one_line() -> None:
    with pytest.raises(ToolNotFoundError) as info:
        check_minimum(SPEC, "/bin/demo", "demo-tool 1.4.9")
    assert info.value.message == (
        "demo-tool: version 1.4.9 at /bin/demo is older than the minimum 1.5.0"
    )
    assert info.value.hint == "upgrade it: pip install demo-tool"


def test_check_minimum_without_version() -> None:
    with pytest.raises(ToolNotFoundError, match="cannot read a version from /bin/demo"):
        check_minimum(SPEC, "/bin/demo", "")


def test_locate_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = script(tmp_path / "demo-tool", "echo 2.0.0")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert locate(SPEC) == str(tool)


def test_locate_missing_names_tool_and_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError) as info:
        locate(SPEC)
    assert info.value.message == "demo-tool: not found on PATH"
    assert "pip install demo-tool" in info.value.hint


def test_locate_configured_path_must_be_executable(tmp_path: Path) -> None:
    plain = tmp_path / "demo-tool"
    plain.write_text("not executable", encoding="utf-8")
    with pytest.raises(ToolNotFoundError) as info:
        locate(SPEC, str(plain))
    assert info.value.message == (
        f"demo-tool: {plain} is not an executable file (set by [tool.conveyor.scan] demo)"
    )


def test_discover_runs_the_version_command(tmp_path: Path) -> None:
    tool = script(tmp_path / "demo-tool", 'echo "demo-tool version 2.1.0"')
    found = discover(SPEC, str(tool))
    assert found.version == "2.1.0"
    assert found.path == str(tool)


def test_discover_reports_a_failing_version_command(tmp_path: Path) -> None:
    tool = script(tmp_path / "demo-tool", "echo broken >&2; exit 3")
    with pytest.raises(ToolNotFoundError) as info:
        discover(SPEC, str(tool))
    assert info.value.message.startswith(f"demo-tool: `{tool} --version` failed")
    assert "reinstall it" in info.value.hint


def test_known_specs_have_minimums_and_install_hints() -> None:
    for spec in (TRIVY, GITLEAKS, DOCKER):
        assert parse_version(spec.minimum) == spec.minimum
        assert spec.install


def test_version_is_remembered_per_binary_identity(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    tool = script(tmp_path / "demo-tool", f'echo x >> "{calls}"; echo "demo-tool 2.1.0"')
    assert discover(SPEC, str(tool)).version == "2.1.0"
    assert discover(SPEC, str(tool)).version == "2.1.0"
    assert calls.read_text().count("x") == 1
    assert version_cache_file().parent == tmp_path / "cache" / "conveyor"
    script(tool, f'echo x >> "{calls}"; echo "demo-tool 1.0.0 (downgraded)"')
    with pytest.raises(ToolNotFoundError, match="older than the minimum"):
        discover(SPEC, str(tool))
    assert calls.read_text().count("x") == 2


def test_unreadable_cache_is_ignored(tmp_path: Path) -> None:
    version_cache_file().parent.mkdir(parents=True)
    version_cache_file().write_text("{broken", encoding="utf-8")
    tool = script(tmp_path / "demo-tool", 'echo "demo-tool 3.0.0"')
    assert discover(SPEC, str(tool)).version == "3.0.0"
    assert "3.0.0" in version_cache_file().read_text(encoding="utf-8")
