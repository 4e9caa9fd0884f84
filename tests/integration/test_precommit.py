"""The pre-commit hooks `conveyor init` writes, installed in a real git repository.

Every hook runs its tool from one pre-commit environment pinned to the consumer's uv.lock
(`conveyor hooks`). A clean commit passes, a planted private key or a lint error makes
`git commit` fail, and pins that no longer match the lock fail the `pre-commit` session.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conveyor.cli import main
from tests.conftest import REPO_ROOT, require_tool
from tests.integration._consumers import consumer_env, init, lock, run, write_consumer

# Assembled at run time so this file itself never holds a key-shaped block.
PRIVATE_KEY = "\n".join(
    [
        "-----BEGIN " + "RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAv2c0nK3m9fJx8lY1hQk6F0tq1bq3pZf0Yy0v5qj3x1h2Rk9w",
        "-----END " + "RSA PRIVATE KEY-----",
        "",
    ]
)
UNDEFINED_NAME = '''\
"""A module with a lint error ruff cannot fix."""


def broken() -> int:
    """Uses a name that does not exist."""
    return undefined_name  # type: ignore[name-defined]
'''


def git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    identity = ["-c", "user.email=ci@example.invalid", "-c", "user.name=CI"]
    return run(root, "git", *identity, *args, env=consumer_env())


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, locked consumer with the hooks installed and a first commit."""
    require_tool("uv")
    require_tool("git")
    root = write_consumer(tmp_path_factory.mktemp("hooks") / "svc", "src")
    assert init(root) == 0
    lock(root)
    assert main(["hooks", str(root)]) == 0  # pin the hooks to the fresh lock
    assert git(root, "init", "-q", "-b", "main").returncode == 0
    installed = run(root, "uv", "run", "--frozen", "--group", "hooks", "pre-commit", "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    with (root / ".gitignore").open("a", encoding="utf-8") as ignore:
        ignore.write(".venv/\n")
    assert git(root, "add", "-A").returncode == 0
    first = git(root, "commit", "-m", "adopt conveyor")
    assert first.returncode == 0, first.stdout + first.stderr
    return root


def commit_fails(root: Path, path: str, content: str) -> str:
    """Stage `content` at `path`, commit, expect failure; leave the index and tree clean."""
    target = root / path
    target.write_text(content, encoding="utf-8")
    assert git(root, "add", path).returncode == 0
    done = git(root, "commit", "-m", f"add {path}")
    git(root, "reset", "-q", "HEAD", "--", path)
    target.unlink()
    assert done.returncode != 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_clean_commit_passes_every_hook(repo: Path) -> None:
    log = git(repo, "log", "--oneline")
    assert "adopt conveyor" in log.stdout


def test_planted_private_key_fails_the_commit(repo: Path) -> None:
    output = commit_fails(repo, "deploy_key.pem", PRIVATE_KEY)
    assert "detect private keys" in output
    assert "Failed" in output


def test_lint_error_fails_the_commit(repo: Path) -> None:
    output = commit_fails(repo, "src/svc_src/broken.py", UNDEFINED_NAME)
    assert "F821" in output
    assert "Undefined name `undefined_name`" in output


def test_an_added_lock_file_may_be_large_another_file_may_not(repo: Path) -> None:
    """A first commit adds uv.lock, which real projects grow past the 500 KB limit."""
    hook = ("uv", "run", "--frozen", "--group", "hooks", "pre-commit", "run")
    padding = "".join(f"# {n:08d} {'x' * 60}\n" for n in range(9000))  # about 640 KB
    for path, passes in (("tools/uv.lock", True), ("tools/data.bin", False)):
        (repo / "tools").mkdir(exist_ok=True)
        (repo / path).write_text(padding, encoding="utf-8")
        assert git(repo, "add", path).returncode == 0
        try:
            done = run(repo, *hook, "check-added-large-files", "--files", path)
        finally:
            git(repo, "reset", "-q", "HEAD", "--", path)
            (repo / path).unlink()
        output = done.stdout + done.stderr
        assert (done.returncode == 0) is passes, output
        assert ("exceeds 500 KB" in output) is not passes, output


def test_pre_commit_session_runs_every_hook_on_every_file(repo: Path) -> None:
    done = run(repo, "uv", "run", "--frozen", "nox", "-s", "pre-commit")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "pre-commit run --all-files" in output
    assert "gitleaks (staged changes)" in output
    assert "Session pre-commit was successful" in output


def test_exported_hooks_validate_and_run_from_this_checkout(repo: Path) -> None:
    """Another repository can use Conveyor's hooks: the manifest loads and a hook runs."""
    hooks = ("uv", "run", "--frozen", "--group", "hooks", "pre-commit")
    valid = run(repo, *hooks, "validate-manifest", str(REPO_ROOT / ".pre-commit-hooks.yaml"))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    tried = run(repo, *hooks, "try-repo", str(REPO_ROOT), "detect-private-key", "--all-files")
    assert tried.returncode == 0, tried.stdout + tried.stderr
    assert "detect private keys" in tried.stdout


def test_stale_hook_pins_fail_the_session_with_the_fix(repo: Path) -> None:
    config = repo / ".pre-commit-config.yaml"
    pinned = config.read_text(encoding="utf-8")
    ruff = next(line for line in pinned.splitlines() if line.strip().startswith("- ruff=="))
    config.write_text(pinned.replace(ruff, "    - ruff==0.8.0"), encoding="utf-8")
    try:
        assert main(["hooks", str(repo), "--check"]) == 1
        done = run(repo, "uv", "run", "--frozen", "nox", "-s", "pre-commit")
        output = done.stdout + done.stderr
        assert done.returncode != 0, output
        assert "hook pins differ from uv.lock: ruff: ruff==0.8.0 in the config" in output
        assert "uv run conveyor hooks" in output
    finally:
        config.write_text(pinned, encoding="utf-8")
    assert main(["hooks", str(repo), "--check"]) == 0
