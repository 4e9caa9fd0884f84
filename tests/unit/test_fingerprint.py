"""Fingerprints: file trees by content (git's view of the tree), lock closures per group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conveyor.fingerprint import FileHashes, LockedGroups, closure, digest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

LOCK = """\
version = 1
requires-python = ">=3.9"

[[package]]
name = "svc"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "requests" }]

[package.optional-dependencies]
tests = [{ name = "pluggy" }]

[package.dev-dependencies]
lint = [{ name = "ruff" }]
test = [{ name = "pytest" }, { name = "nox", version = "2026.10.20" }]

[[package]]
name = "requests"
version = "2.32.0"
dependencies = [{ name = "urllib3" }]

[[package]]
name = "urllib3"
version = "2.2.0"

[[package]]
name = "ruff"
version = "0.8.0"

[[package]]
name = "pytest"
version = "8.3.0"
dependencies = [{ name = "pluggy" }, { name = "colorama", marker = "sys_platform == 'win32'" }]

[[package]]
name = "pluggy"
version = "1.5.0"

[[package]]
name = "colorama"
version = "0.4.6"

[[package]]
name = "nox"
version = "2025.5.1"

[[package]]
name = "nox"
version = "2026.10.20"
dependencies = [{ name = "attrs", extra = ["x"] }]

[[package]]
name = "attrs"
version = "25.1.0"

[package.optional-dependencies]
x = [{ name = "Pluggy" }]
"""


def test_a_group_closure_follows_dependencies_forks_and_extras() -> None:
    lock = tomllib.loads(LOCK)
    assert closure(lock, "svc", ["lint"], with_project=False) == ["ruff==0.8.0"]
    assert closure(lock, "svc", [], with_project=True) == ["requests==2.32.0", "urllib3==2.2.0"]
    assert closure(lock, "svc", ["test"], with_project=False) == [
        "attrs==25.1.0",
        "colorama==0.4.6",
        "nox==2026.10.20",
        "pluggy==1.5.0",
        "pytest==8.3.0",
    ]
    assert closure(lock, "other", ["lint"], with_project=False) == []
    # The project's extras a session installs are part of what it depends on.
    assert "pluggy==1.5.0" in closure(lock, "svc", [], with_project=True, extras=["tests"])


def test_a_lock_change_changes_only_the_groups_it_touches(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(LOCK)
    groups = LockedGroups(lock, tmp_path / "memo.json")
    lint, test = (groups.hash("svc", [g], with_project=False) for g in ("lint", "test"))
    extra = groups.hash("svc", [], with_project=True, extras=["tests"])
    assert extra != groups.hash("svc", [], with_project=True)
    lock.write_text(LOCK.replace('version = "8.3.0"', 'version = "8.4.0"'))
    again = LockedGroups(lock, tmp_path / "memo.json")
    assert again.hash("svc", ["lint"], with_project=False) == lint
    assert again.hash("svc", ["test"], with_project=False) != test
    bumped = LOCK.replace('version = "1.5.0"', 'version = "1.6.0"')
    lock.write_text(bumped)  # pluggy: only through pytest and the `tests` extra
    assert (
        LockedGroups(lock, tmp_path / "memo.json").hash(
            "svc", [], with_project=True, extras=["tests"]
        )
        != extra
    )
    lock.write_text(LOCK.replace('version = "8.3.0"', 'version = "8.4.0"'))
    lock.unlink()
    assert again.hash("svc", ["lint"], with_project=False) == "no-lock"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("def test(): pass\n")
    (root / "README.md").write_text("# readme\n")
    (root / ".gitignore").write_text("reports/\n")
    (root / "reports").mkdir()
    (root / "reports" / ".coverage.tests-3.12").write_text("data")
    return root


def test_a_tree_hash_follows_content_names_and_new_files(tree: Path, tmp_path: Path) -> None:
    git(tree, "init", "-q")
    hashes = FileHashes(tree, tmp_path / "files.json")
    src = hashes.tree(["src"])
    everything = hashes.tree(["."])
    assert hashes.under(["."]) == [".gitignore", "README.md", "src/pkg/__init__.py",
                                   "tests/test_x.py"]  # fmt: skip
    (tree / "README.md").write_text("# changed\n")
    fresh = FileHashes(tree, tmp_path / "files.json")
    assert fresh.tree(["src"]) == src
    assert fresh.tree(["."]) != everything
    (tree / "src" / "pkg" / "new.py").write_text("")  # untracked, not ignored: an input
    assert FileHashes(tree, tmp_path / "files.json").tree(["src"]) != src


def test_ignored_files_count_only_when_named_or_matched(tree: Path, tmp_path: Path) -> None:
    git(tree, "init", "-q")
    hashes = FileHashes(tree, tmp_path / "files.json")
    assert "reports/.coverage.tests-3.12" not in hashes.under(["."])
    assert hashes.under(["reports/.coverage.*", "README.md"]) == [
        "README.md",
        "reports/.coverage.tests-3.12",
    ]


def test_without_git_the_tree_is_walked_without_caches(tree: Path, tmp_path: Path) -> None:
    (tree / "src" / "pkg" / "__pycache__").mkdir()
    (tree / "src" / "pkg" / "__pycache__" / "m.pyc").write_text("")
    hashes = FileHashes(tree, tmp_path / "files.json")
    assert "src/pkg/__init__.py" in hashes.files()
    assert not any("__pycache__" in f for f in hashes.files())


def test_hashes_are_remembered_by_stat_and_rehashed_when_it_changes(
    tree: Path, tmp_path: Path
) -> None:
    memo = tmp_path / "files.json"
    hashes = FileHashes(tree, memo)
    first = hashes.of("README.md")
    hashes.save()
    assert memo.is_file()
    (tree / "README.md").write_text("# another readme, longer\n")
    assert FileHashes(tree, memo).of("README.md") != first
    assert hashes.of("absent.txt") == "-"


def test_digest_is_stable_and_order_sensitive() -> None:
    assert digest("a", [1, 2]) == digest("a", [1, 2])
    assert digest("a", [1, 2]) != digest("a", [2, 1])
