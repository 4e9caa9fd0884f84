"""Commit-hook benchmark (on demand, not a test): `uv run python benchmarks/hooks.py`.

`pre-commit run --all-files` with this repository's hooks against the anchor: the same hooks'
commands run bare, one after another, from the same pre-commit environment, each on the
files pre-commit would give it (its `types`/`types_or`, via pre-commit's own `identify`).
Rounds alternate; medians and their ratio are printed. Goal: <= 1.5x.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from identify.identify import tags_from_path

ROOT = Path(__file__).resolve().parent.parent


def hook_env(root: Path) -> Path:
    """The environment pre-commit built for the local hooks (built first if absent)."""
    subprocess.run(
        [sys.executable, "-m", "pre_commit", "install-hooks"], cwd=root, check=True,
        capture_output=True,
    )  # fmt: skip
    store = Path.home() / ".cache" / "pre-commit"
    envs = sorted(store.glob("repo*/py_env-*"), key=lambda p: p.stat().st_mtime)
    if not envs:
        sys.exit("no pre-commit environment found")
    return envs[-1]


def wanted(hook: dict[str, Any], files: list[str], root: Path) -> list[str]:
    """The files pre-commit passes `hook` (none when it takes no filenames)."""
    if hook.get("pass_filenames", True) is False:
        return []
    all_of = set(hook.get("types", ["file"]))
    any_of = set(hook.get("types_or", []))
    chosen = []
    for name in files:
        tags = tags_from_path(str(root / name))
        if all_of <= tags and (not any_of or any_of & tags):
            chosen.append(name)
    return chosen


def bare_commands(root: Path, env: Path) -> list[list[str]]:
    """Every hook's command, its program taken from the hook environment."""
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    files = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    commands = []
    for repo in config["repos"]:
        for hook in repo["hooks"]:
            argv = shlex.split(hook["entry"])
            argv[0] = str(env / "bin" / argv[0])
            given = wanted(hook, files, root)
            if hook.get("pass_filenames", True) is not False and not given:
                continue  # pre-commit skips a hook with no files
            commands.append([*argv, *given])
    return commands


def timed(argvs: list[list[str]], root: Path) -> float:
    started = time.perf_counter()
    for argv in argvs:
        subprocess.run(argv, cwd=root, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    root = args.root.resolve()
    bare = bare_commands(root, hook_env(root))
    hooks = [[sys.executable, "-m", "pre_commit", "run", "--all-files"]]
    timed(hooks, root)  # warm-up: mypy's cache, the page cache
    pre_commit: list[float] = []
    direct: list[float] = []
    for _ in range(args.rounds):
        pre_commit.append(timed(hooks, root))
        direct.append(timed(bare, root))
    a, b = statistics.median(pre_commit), statistics.median(direct)
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds, {len(bare)} hook commands")
    print(f"pre-commit run --all-files : median {a:.2f}s  {[round(x, 2) for x in pre_commit]}")
    print(f"same commands bare         : median {b:.2f}s  {[round(x, 2) for x in direct]}")
    print(f"ratio (median)             : {a / b:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
