"""The one tag scheme: revision (`<sha>` / `<sha>-dirty`), version, latest; version tags pinned."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conveyor.errors import ConfigError, GateFailedError, InvalidInputError
from conveyor.images.revision import (
    Revision,
    created_at,
    git_revision,
    oci_labels,
    project_version,
    public_url,
    tag_scheme,
)
from conveyor.policy.tags import TagMove, refuse_moves, short_id, tag_moves
from tests.conftest import require_tool

NOW = datetime(2026, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
COMMITTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_clean_tree_gets_sha_and_version() -> None:
    scheme = tag_scheme(Revision("abc123", None), "2.0.0", latest=False)
    assert (scheme.movable, scheme.pinned, scheme.primary) == (("abc123",), ("2.0.0",), "abc123")


def test_dirty_tree_gets_sha_dirty_and_no_version() -> None:
    scheme = tag_scheme(Revision("abc123", None, dirty=True), "2.0.0", latest=True)
    assert scheme.movable == ("abc123-dirty", "latest")
    assert scheme.pinned == ()
    assert "abc123" not in (*scheme.movable, *scheme.pinned)


def test_outside_git_the_version_is_the_primary_tag() -> None:
    scheme = tag_scheme(Revision(None, None), "2.0.0", latest=False)
    assert (scheme.movable, scheme.pinned, scheme.primary) == ((), ("2.0.0",), "2.0.0")


def test_no_tag_at_all_is_one_line() -> None:
    with pytest.raises(ConfigError, match="no tag for the images"):
        tag_scheme(Revision(None, None), None, latest=False)
    with pytest.raises(InvalidInputError, match="invalid image tag"):
        tag_scheme(Revision(None, None), "1.0+local build", latest=False)


def test_created_is_the_commit_time_for_a_clean_tree_only() -> None:
    assert created_at(Revision("a", None, committed=COMMITTED), NOW) == COMMITTED
    assert created_at(Revision("a", None, dirty=True, committed=COMMITTED), NOW) == NOW
    assert created_at(Revision(None, None), NOW) == NOW


def test_oci_labels() -> None:
    assert oci_labels(Revision("abc", "https://x/y.git", dirty=True), "1.0", COMMITTED) == {
        "org.opencontainers.image.created": "2026-01-02T03:04:05Z",
        "org.opencontainers.image.revision": "abc-dirty",
        "org.opencontainers.image.source": "https://x/y.git",
        "org.opencontainers.image.version": "1.0",
    }
    assert list(oci_labels(Revision(None, None), None, NOW)) == ["org.opencontainers.image.created"]


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


def test_project_version(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\nversion = "3.1"\n')
    assert project_version(tmp_path) == "3.1"
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    assert project_version(tmp_path) is None


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.invalid",
           "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z"}  # fmt: skip
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


def test_git_revision_sees_changes_and_untracked_files(tmp_path: Path) -> None:
    require_tool("git")
    assert git_revision(tmp_path) == Revision(None, None)  # not a checkout
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / ".gitignore").write_text("ignored/\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "one")
    _git(tmp_path, "remote", "add", "origin", "https://bot:tok3n-x@example.invalid/a.git")
    (tmp_path / "ignored").mkdir()
    (tmp_path / "ignored" / "state").write_text("x")
    clean = git_revision(tmp_path)
    assert clean.sha == _git(tmp_path, "rev-parse", "--short=12", "HEAD")
    assert not clean.dirty
    assert clean.source == "https://example.invalid/a.git"
    assert clean.committed == COMMITTED
    (tmp_path / ".conveyor" / "images").mkdir(parents=True)
    (tmp_path / ".conveyor" / "images" / "shop.yaml").write_text("services: {}\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "scan.json").write_text("{}")
    assert git_revision(tmp_path).dirty  # not git-ignored here...
    assert not git_revision(tmp_path, own_output=(".conveyor", "reports")).dirty  # ...but ours
    (tmp_path / "new.py").write_text("print(2)\n")
    assert git_revision(tmp_path).tag == f"{clean.sha}-dirty"
    (tmp_path / "new.py").unlink()
    (tmp_path / "app.py").write_text("print(3)\n")
    assert git_revision(tmp_path).dirty


def test_tag_moves_and_refusal() -> None:
    old, new = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    current = {"app:1.0": old, "web:1.0": None, "api:1.0": new}
    wanted = {"app:1.0": new, "web:1.0": new, "api:1.0": new}
    moves = tag_moves(current, wanted)
    assert moves == [TagMove("app:1.0", old, new)]
    assert short_id(old) == "sha256:aaaaaaaaaaaa"
    with pytest.raises(GateFailedError) as refused:
        refuse_moves([*moves, TagMove("x:1.0", new, old)], force=False)
    assert refused.value.message == (
        "refusing to move app:1.0 from sha256:aaaaaaaaaaaa to sha256:bbbbbbbbbbbb: "
        "a version tag names one image"
    )
    assert "also x:1.0 from sha256:bbbbbbbbbbbb" in refused.value.hint
    assert "--force" in refused.value.hint
    refuse_moves(moves, force=True)
    refuse_moves([], force=False)
